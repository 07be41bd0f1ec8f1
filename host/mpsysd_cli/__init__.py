"""mpsysd's host side: see and control a fleet of mpsysd devices over MQTT."""
__version__ = "0.1.0"
