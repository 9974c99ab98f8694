"""A sample OPC UA monitoring broker: the latest value of one node, over upstream's ``OpcuaNode``.

The counterpart of upstream Akri's OPC UA monitoring sample: it subscribes to ``ns=<NAMESPACE_INDEX>;
s=<IDENTIFIER>`` on the server of its Instance (``OPCUA_DISCOVERY_URL``) and answers
``OpcuaNode.GetValue`` with the latest value (``settings``, ``values``: pure; ``monitor``: asyncua;
``servicer``: gRPC).
"""
