"""The video streaming app: every camera of a Configuration, live, side by side in a web page.

``sources`` decides which Services and Instances become which tiles (pure), ``settings`` reads
the environment, ``frames`` keeps each camera's newest frame, ``feeds`` runs one gRPC frame loop
per camera, ``cluster`` follows Services and Instances by watch, ``mjpeg`` frames the streams,
``web`` serves the page, and ``manifest`` writes the Kubernetes objects that deploy the app.
"""
