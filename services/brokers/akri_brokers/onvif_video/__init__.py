"""The ONVIF video broker: one camera's newest JPEG frame over upstream's ``camera.Camera`` gRPC.

Modules: ``source`` (which profile and URL, from the Instance's properties; pure), ``mjpeg`` (an
incremental ``multipart/x-mixed-replace`` parser with limits; pure), ``settings``, ``reader``
(the HTTP side: stream or snapshots, reconnects), ``servicer`` (``GetFrame``), ``__main__``.
"""

PROGRAM = "akri-onvif-video-broker"
