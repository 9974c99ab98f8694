from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ValueRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ValueResponse(_message.Message):
    __slots__ = ("value", "opcua_server")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    OPCUA_SERVER_FIELD_NUMBER: _ClassVar[int]
    value: int
    opcua_server: str
    def __init__(self, value: _Optional[int] = ..., opcua_server: _Optional[str] = ...) -> None: ...
