"""Generated contract package; see the .proto beside the generated modules."""
