# aioservices: the package that holds mpsysd's service files (see .services).
