"""``akri``: the user's command line. ``akri discover`` tries a Configuration without a cluster."""
