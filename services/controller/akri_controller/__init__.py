"""The Akri controller: one per cluster; deploys brokers and services for the Instances agents write.

``brokers`` builds the objects it deploys (pure manifest builders and the pod-action decision);
``reconcilers`` holds the level-based reconcilers (broker pods and jobs per Instance, instance and
configuration services, nodes that left); ``app`` wires them to watched caches.
"""
