"""Small broker programs (debugEcho, udev) that report what the device plugin gave their pod."""
