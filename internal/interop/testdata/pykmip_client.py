#!/usr/bin/python3
"""Drive a keywarden KMIP server with PyKMIP (kmip.pie.client.ProxyKmipClient).

Run by internal/interop/pykmip_test.go with /usr/bin/python3. Every step is
recorded, success or failure, and the results are printed as one JSON
object on stdout:

    {"pykmip_version": "...", "kmip_version": "1.2",
     "steps": {"create_aes": {"ok": true, "error": "", "reason": "",
                              "result": ...}, ...}}

A failed KMIP operation records the Result Reason name (e.g.
"PERMISSION_DENIED"); a failed connection records the exception text, so
that the Go test can say exactly why PyKMIP could not talk to the server.
The script exits 0 whenever it printed its JSON.
"""

import argparse
import json
import logging
import os
import shutil
import ssl
import sys
import tempfile
import traceback

import kmip
from kmip.core import enums
from kmip.core.factories import attributes as attribute_factory
from kmip.pie import client as pie_client
from kmip.pie import exceptions as pie_exceptions
from kmip.pie import objects as pie_objects

VERSIONS = {
    "1.0": enums.KMIPVersion.KMIP_1_0,
    "1.1": enums.KMIPVersion.KMIP_1_1,
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.3": enums.KMIPVersion.KMIP_1_3,
    "1.4": enums.KMIPVersion.KMIP_1_4,
}


class Steps(object):
    """Runs named steps and records their outcome."""

    def __init__(self):
        self.results = {}

    def run(self, name, fn):
        try:
            result = fn()
        except pie_exceptions.KmipOperationFailure as e:
            reason = getattr(e.reason, "name", str(e.reason))
            self.results[name] = {"ok": False, "reason": reason, "error": str(e), "result": None}
            return None
        except Exception as e:  # connection, TLS or decoding errors
            self.results[name] = {
                "ok": False,
                "reason": "",
                "error": "%s: %s" % (type(e).__name__, e),
                "traceback": traceback.format_exc(limit=6),
                "result": None,
            }
            return None
        self.results[name] = {"ok": True, "reason": "", "error": "", "result": result}
        return result


def attr_value(v):
    """Converts a PyKMIP attribute value to something JSON can carry."""
    if hasattr(v, "name_value"):  # Name
        return v.name_value.value
    if hasattr(v, "linked_object_identifier"):  # Link
        return {"type": v.link_type.value.name, "id": v.linked_object_identifier.value}
    inner = getattr(v, "value", v)
    if hasattr(inner, "name") and hasattr(inner, "value") and not isinstance(inner, (int, str)):
        return inner.name  # an enumeration
    if isinstance(inner, (bytes, bytearray)):
        return inner.hex()
    if isinstance(inner, (int, str, bool)) or inner is None:
        return inner
    return str(inner)


def attrs_to_dict(attrs):
    out = {}
    for a in attrs:
        out.setdefault(a.attribute_name.value, []).append(attr_value(a.attribute_value))
    return out


def key_info(obj):
    """Describes a PyKMIP managed object returned by Get."""
    info = {"object_type": obj.object_type.name}
    value = getattr(obj, "value", None)
    if value is not None:
        info["value_hex"] = bytes(value).hex()
        info["value_len"] = len(value)
    for field in ("cryptographic_algorithm", "key_format_type", "data_type"):
        v = getattr(obj, field, None)
        if v is not None:
            info[field] = v.name
    length = getattr(obj, "cryptographic_length", None)
    if length is not None:
        info["cryptographic_length"] = length
    return info


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--kmip-version", default="1.2", choices=sorted(VERSIONS))
    p.add_argument("--ssl-version", default=None,
                   help="an ssl module protocol name, e.g. PROTOCOL_TLSv1_2 (default: PyKMIP's, PROTOCOL_SSLv23)")
    args = p.parse_args()

    logging.basicConfig(level=logging.CRITICAL)

    # A config file of our own, so that no ~/.pykmip or /etc/pykmip file
    # (username, password, cert_reqs...) changes what is tested.
    conf_dir = tempfile.mkdtemp()
    conf = os.path.join(conf_dir, "pykmip.conf")
    with open(conf, "w") as f:
        f.write("[client]\n")

    out = {
        "pykmip_version": kmip.__version__,
        "python": sys.version.split()[0],
        "openssl": ssl.OPENSSL_VERSION,
        "kmip_version": args.kmip_version,
        "steps": None,
    }
    steps = Steps()
    c = pie_client.ProxyKmipClient(
        hostname=args.host,
        port=args.port,
        cert=args.cert,
        key=args.key,
        ca=args.ca,
        ssl_version=args.ssl_version,
        config_file=conf,
        kmip_version=VERSIONS[args.kmip_version],
    )
    shutil.rmtree(conf_dir)  # read by the constructor; no longer needed
    if steps.run("open", lambda: c.open() or True) is None:
        out["steps"] = steps.results
        print(json.dumps(out))
        return 0
    sock = c.proxy.socket
    out["tls_version"] = sock.version() if sock is not None else ""
    out["tls_cipher"] = sock.cipher()[0] if sock is not None and sock.cipher() else ""

    af = attribute_factory.AttributeFactory()
    aes_name = args.prefix + "-aes"
    usage = [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]

    aes = steps.run("create_aes", lambda: c.create(
        enums.CryptographicAlgorithm.AES, 256, name=aes_name, cryptographic_usage_mask=usage))
    if aes:
        steps.run("get_aes", lambda: key_info(c.get(aes)))
        steps.run("locate_by_name", lambda: c.locate(
            attributes=[af.create_attribute(enums.AttributeType.NAME, aes_name)]))
        steps.run("get_attributes", lambda: attrs_to_dict(c.get_attributes(aes, [
            "Unique Identifier", "Object Type", "Cryptographic Algorithm", "Cryptographic Length",
            "Cryptographic Usage Mask", "State", "Name", "Initial Date"])[1]))
        # Without names: every attribute the object has, including those
        # PyKMIP may not know how to decode.
        steps.run("get_attributes_all", lambda: attrs_to_dict(c.get_attributes(aes)[1]))
        steps.run("get_attribute_list", lambda: c.get_attribute_list(aes))

    secret_value = os.urandom(24)
    out["secret_hex"] = secret_value.hex()
    secret = steps.run("register_secret", lambda: c.register(pie_objects.SecretData(
        secret_value, enums.SecretDataType.PASSWORD,
        masks=[enums.CryptographicUsageMask.DERIVE_KEY], name=args.prefix + "-secret")))
    if secret:
        steps.run("get_secret", lambda: key_info(c.get(secret)))
        # Derive Key from the password, once active: PBKDF2-HMAC-SHA256.
        if steps.run("activate_secret", lambda: c.activate(secret) or True):
            derived = steps.run("derive_pbkdf2", lambda: c.derive_key(
                enums.ObjectType.SECRET_DATA, [secret], enums.DerivationMethod.PBKDF2,
                {"cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_256},
                 "salt": b"keywarden-salt", "iteration_count": 1000},
                cryptographic_length=256))
            if derived:
                steps.run("get_derived", lambda: key_info(c.get(derived)))
                steps.run("destroy_derived", lambda: c.destroy(derived) or True)
            steps.run("revoke_secret", lambda: c.revoke(
                enums.RevocationReasonCode.CESSATION_OF_OPERATION, secret) or True)

    sym_value = os.urandom(32)
    out["symmetric_hex"] = sym_value.hex()
    sym = steps.run("register_symmetric", lambda: c.register(pie_objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 256, sym_value, masks=usage, name=args.prefix + "-registered")))
    if sym:
        steps.run("get_symmetric", lambda: key_info(c.get(sym)))

    pair = steps.run("create_rsa_pair", lambda: list(c.create_key_pair(
        enums.CryptographicAlgorithm.RSA, 2048,
        public_name=args.prefix + "-rsa-public",
        public_usage_mask=[enums.CryptographicUsageMask.VERIFY],
        private_name=args.prefix + "-rsa-private",
        private_usage_mask=[enums.CryptographicUsageMask.SIGN])))
    if pair:
        steps.run("get_public", lambda: key_info(c.get(pair[0])))
        steps.run("get_private", lambda: key_info(c.get(pair[1])))

    if aes:
        steps.run("activate_aes", lambda: c.activate(aes) or True)
        # PyKMIP 0.10's check() needs a usage mask: with None it fails on
        # the client side before sending anything.
        steps.run("check_aes", lambda: c.check(
            aes, cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT]))
        steps.run("revoke_aes", lambda: c.revoke(
            enums.RevocationReasonCode.CESSATION_OF_OPERATION, aes) or True)
        steps.run("destroy_aes", lambda: c.destroy(aes) or True)
        steps.run("get_destroyed_aes", lambda: key_info(c.get(aes)))
        steps.run("state_destroyed_aes", lambda: attrs_to_dict(c.get_attributes(aes, ["State"])[1]))
    for name, uid in (("destroy_secret", secret), ("destroy_symmetric", sym),
                      ("destroy_public", pair[0] if pair else None),
                      ("destroy_private", pair[1] if pair else None)):
        if uid:
            steps.run(name, lambda uid=uid: c.destroy(uid) or True)

    steps.run("close", lambda: c.close() or True)
    out["steps"] = steps.results
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
