"""The udev video broker: JPEG frames from the V4L2 camera its pod was given, over ``camera.Camera``.

Upstream Akri's udev-video-broker role. A capture thread opens the device node, checks that it is
a capture device offering MJPEG, configures it and keeps only the newest frame; ``GetFrame`` serves
that frame on port 8083. When the device goes away the thread reopens it with back-off.
"""

PROGRAM = "akri-udev-video-broker"
