"""The Akri agent: one per node; turns what discovery handlers find into Instances and kubelet resources.

``registration`` hosts the ``v0.Registration`` socket handlers register on; ``discovery`` keeps one
discovery request per Configuration, streams from every matching handler endpoint, merges their
lists and derives the Instances this node wants.
"""
