"""`make demo`: the whole loop on a real control plane, live in the terminal.

``cluster`` starts the testbed and every Akri-py process; ``screen`` renders what the cluster
holds (pure); ``story`` drives the devices and checks each step; ``local`` is the cluster-free
demo (a debugEcho handler and ``akri discover --watch``).
"""
