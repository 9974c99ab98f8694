from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class NotifyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NotifyResponse(_message.Message):
    __slots__ = ("frame", "camera")
    FRAME_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    frame: bytes
    camera: str
    def __init__(self, frame: _Optional[bytes] = ..., camera: _Optional[str] = ...) -> None: ...
