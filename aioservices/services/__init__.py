# aioservices.services: drop xxx_service.py (or .mpy) files in this folder.
# Discovery is aiodiscover, loaded only while services are being loaded.
