"""`make demo`: Akri-py as a user meets it, live in the terminal: the Helm chart on a 2-node
container cluster.

``cluster`` starts the container testbed with our images and runs ``helm``/``kubectl``;
``cameras`` runs simulated ONVIF cameras on its node network; ``screen`` renders what the cluster holds (pure); ``story`` installs, takes
devices offline and back, upgrades and uninstalls, checking each step; ``video`` is Akri's
end-to-end video demo (simulated cameras, the ONVIF video broker, the streaming app's page);
``local`` is the cluster-free demo (a debugEcho handler and ``akri discover --watch``).
"""
