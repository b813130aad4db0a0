#!/usr/bin/env python3
"""Writes the hostile safetensors fixtures in this directory, byte by byte.

Each file breaks exactly one rule of the format (see README.md); the name is the
SafetensorsFormatException.Reason it must be rejected with, in lower case, plus an
optional suffix for variants. The files are committed, so tests never need Python;
run this script only to regenerate them (the output is deterministic).
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def st(header, data=b"", length=None):
    """8-byte little-endian header length, the header bytes as given, then the data bytes."""
    if isinstance(header, str):
        header = header.encode("utf-8")
    n = len(header) if length is None else length
    return struct.pack("<Q", n) + header + data


def u8(name, begin, end, shape=None):
    shape = [end - begin] if shape is None else shape
    return '"%s":{"dtype":"U8","shape":%s,"data_offsets":[%d,%d]}' % (
        name, "[" + ",".join(str(d) for d in shape) + "]", begin, end)


FILES = {
    # Fewer than the 8 bytes of the length prefix.
    "file_too_short": b"\x02\x00\x00\x00\x00",
    # N = 100_000_001, one byte over the reference reader's 100 MB cap.
    "header_too_large": st("{}", length=100_000_001),
    # N = 2^64 - 1: does not even fit a signed 64-bit integer.
    "header_too_large_u64": st("{}", length=0xFFFFFFFFFFFFFFFF),
    # N = 100, but only 2 header bytes follow.
    "header_past_eof": st("{}", length=100),
    # 0xFF 0xFE can never occur in UTF-8.
    "header_not_utf8": st(b'{"\xff\xfe":{}}'),
    # A member without a value.
    "header_not_json": st('{"layer.0.weight":}'),
    # Valid JSON, but an array instead of an object.
    "header_not_object": st("[]"),
    # The same tensor name twice.
    "duplicate_name": st("{" + u8("layer.0.weight", 0, 1) + "," + u8("layer.0.weight", 1, 2) + "}", b"\x01\x02"),
    # "F12" is no safetensors dtype.
    "unknown_dtype": st('{"layer.0.weight":{"dtype":"F12","shape":[1],"data_offsets":[0,1]}}', b"\x00"),
    # No "data_offsets".
    "missing_field": st('{"layer.0.weight":{"dtype":"U8","shape":[1]}}', b"\x00"),
    # "shape" is a string, not an array of integers.
    "mistyped_field": st('{"layer.0.weight":{"dtype":"U8","shape":"1","data_offsets":[0,1]}}', b"\x00"),
    # A dimension of -1.
    "negative_dimension": st('{"layer.0.weight":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}', b"\x00"),
    # The reference's test_validation_overflow: a dimension of 2^64 - 2.
    "size_overflow": st('{"layer.0.weight":{"dtype":"F32","shape":[2,18446744073709551614],"data_offsets":[0,4]}}',
                        b"\x00" * 4),
    # Every dimension fits, but their product (2^64) does not.
    "size_overflow_product": st('{"layer.0.weight":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,4]}}',
                                b"\x00" * 4),
    # 2^60 elements fit, but 2^60 x 32 bits does not.
    "size_overflow_bits": st('{"layer.0.weight":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,4]}}',
                             b"\x00" * 4),
    # The only tensor starts at byte 1 of the data section.
    "offsets_not_from_zero": st("{" + u8("layer.0.weight", 1, 2) + "}", b"\x00\x00"),
    # Byte 1 belongs to no tensor (a polyglot hiding place).
    "offsets_hole": st("{" + u8("a.weight", 0, 1) + "," + u8("layer.0.weight", 2, 3) + "}", b"\x00\x00\x00"),
    # The second tensor starts inside the first.
    "offsets_overlap": st("{" + u8("a.weight", 0, 2) + "," + u8("layer.0.weight", 1, 3) + "}", b"\x00\x00\x00"),
    # data_offsets [1, 0]: ends before it begins.
    "offsets_reversed": st("{" + u8("layer.0.weight", 1, 0, shape=[1]) + "}", b"\x00"),
    # F32[2] needs 8 bytes, its offsets span 4.
    "byte_size_mismatch": st('{"layer.0.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', b"\x00" * 4),
    # Three F4 elements are 12 bits: the tensor would end in the middle of a byte.
    "sub_byte_misaligned": st('{"layer.0.weight":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', b"\x00\x00"),
    # A valid tensor followed by 3 bytes nobody indexes.
    "data_not_at_eof": st("{" + u8("layer.0.weight", 0, 2) + "}", b"\x01\x02TRA"),
    # The tensor claims 4 bytes, the file stops after 2.
    "data_not_at_eof_truncated": st("{" + u8("layer.0.weight", 0, 4) + "}", b"\x01\x02"),
    # __metadata__ values must be strings.
    "metadata_not_string": st('{"__metadata__":{"format":1},' + u8("layer.0.weight", 0, 1) + "}", b"\x00"),
    # The reference's test_json_attack: ten F32[2,2] tensors all claiming bytes [0, 16).
    "json_attack": st("{" + ",".join('"weight_%d":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}' % i
                                     for i in range(10)) + "}", b"\x00" * 16),
}


def main():
    for name, content in sorted(FILES.items()):
        assert len(content) < 1024, name
        with open(os.path.join(HERE, name + ".safetensors"), "wb") as f:
            f.write(content)


if __name__ == "__main__":
    main()
