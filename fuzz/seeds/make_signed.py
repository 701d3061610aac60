#!/usr/bin/env python3
"""Writes the seeds that need a signature, 3DES or an HMAC: a fuzzer cannot
forge those, so without such seeds it never gets past the verifiers.
Keys are the fuzz targets' own (crates/fuzz-targets): the gateway
document's sample merchant key and the targets' LINK_SECRET.
Run from this directory: python3 make_signed.py (needs `cryptography`)."""
import base64, hashlib, hmac, json, pathlib
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.padding import PKCS7

KEY = "98SDKFUO432HNODS098EEE07U9DUOIUE"
TS = 1473431447
LINK_SECRET = b"fuzz-link-secret-0123456789abcdef"
FIXTURES = pathlib.Path("../../crates/soushou/tests/fixtures")


def sign(body: bytes, ts=TS) -> str:
    stripped = bytes(b for b in body if b not in b" \t\n\x0b\x0c\r")
    return hashlib.md5(str(ts).encode() + KEY.encode() + stripped).hexdigest() + f":{ts}"


def encrypt(body: bytes) -> bytes:
    padder = PKCS7(64).padder()
    enc = Cipher(TripleDES(KEY[:24].encode()), modes.ECB()).encryptor()
    return base64.b64encode(enc.update(padder.update(body) + padder.finalize()) + enc.finalize())


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(payload: dict) -> str:
    body = b64url(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return body + "." + b64url(hmac.new(LINK_SECRET, body.encode(), hashlib.sha256).digest())


def write(target: str, name: str, data: bytes):
    d = pathlib.Path(target)
    d.mkdir(exist_ok=True)
    (d / name).write_bytes(data)


notify_json = (FIXTURES / "s07_pay_nodify.json").read_bytes()
notify_xml = (FIXTURES / "s07_pay_nodify.xml").read_bytes()
write("wire_notification", "received_json_3des",
      f"_type=json&encrypt=3DES&sign={sign(notify_json)}\n".encode() + encrypt(notify_json))
write("wire_notification", "received_xml", f"sign={sign(notify_xml)}\n".encode() + notify_xml)

preorder = (FIXTURES / "s02_preorder_request.json").read_bytes()
write("wire_request", "received_preorder_3des",
      f"/openGateway/openService/preOrder?sign={sign(preorder)}&_type=json&encrypt=3DES&busiCode=01000001\n".encode()
      + encrypt(preorder))
cancel = sign(b"chargeCode=1C88FADB-75D2&busiCode=01000001")
write("wire_request", "received_cancel",
      f"/openGateway/openService/cancelTrade/1C88FADB-75D2/01000001?sign={cancel}&opType=ACO\n".encode())

write("crypto_tdes", "notification", b"\n" + encrypt(notify_json))
write("crypto_sign", "document_vector",
      b'b193b39fd7baebc460b3fe7df803778d:1473431447\n{"AMT":"0.01","BUSI_ID":"0010000001"}')
write("crypto_sign", "milliseconds_upper_hex", sign(notify_json, TS * 1000).upper().encode() + b"\n" + notify_json)

paid = {"a": 1250, "s": "Oolong tea 乌龙茶", "r": "ORDER-42", "e": 1795603600,
        "u": "https://shop.example/done?o=42",
        "g": [{"id": "g1", "name": "Oolong", "price": "6.25", "quantity": 2}],
        "c": "wechat", "n": "n0nce-AAAA"}
write("link_token", "open", token(paid).encode())
write("link_token", "expired", token({"a": 1, "s": "x", "e": 1700000000, "n": "n"}).encode())
write("link_token", "payload", json.dumps(paid, ensure_ascii=False).encode())
