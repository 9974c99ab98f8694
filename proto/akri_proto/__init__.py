"""The wire contracts of Akri-py: .proto sources and the Python generated from them.

Generated modules are never edited by hand; ``make proto`` (``python -m akri_proto.generate``)
rewrites them and a test fails when the committed code drifts from what it would write.
"""
