#!/usr/bin/python3
"""Independent verifier for Holdfast's notice ledger (docs/ledger.md).

Written from the format document alone, with Python's standard library and
PyNaCl (Debian: python3-nacl), so that a third party can check an exported
ledger or a receipt without trusting Holdfast's own code. It runs the same
checks in the same order as `holdfast ledger verify` / `verify-receipt` and
reports the same places, with the same exit codes:

    0  everything verifies
    1  a check failed (each failure names "entry N", "tree_head N",
       "inclusion N", "consistency A B" or "receipt")
    2  the input cannot be read, or bad usage

Usage:
    ledger_verify.py verify DIR [--entry N] [--consistency A B] [--public-key HEX] [--json]
    ledger_verify.py verify-receipt RECEIPT [--against DIR] [--public-key HEX] [--json]
"""
import argparse
import hashlib
import json
import os
import re
import sys

import nacl.exceptions
import nacl.signing

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
HEX64 = re.compile(r"[0-9a-fA-F]{64}\Z")
HEX128 = re.compile(r"[0-9a-fA-F]{128}\Z")
LOWER_HEX = re.compile(r"[0-9a-f]*\Z")
TREE_HEAD_DOMAIN = b"holdfast-ledger-tree-head-v1\x00"
ACK_DOMAIN = b"holdfast-ledger-ack-v1\x00"
RESERVED = ("index", "kind", "timestamp_ms")

# Each kind's required fields and their types (docs/ledger.md, "Entry kinds").
TEXT, TEXT_OR_EMPTY, COUNT, SHA256_HEX, SIGNATURE_HEX, TEXT_LIST = range(6)
KINDS = {
    "preservation_request": [("document_sha256", SHA256_HEX), ("document_size_bytes", COUNT),
                             ("case_reference", TEXT), ("requested_by", TEXT), ("scope", TEXT_OR_EMPTY)],
    "hold_placed": [("hold_id", TEXT), ("scope", TEXT)],
    "hold_released": [("hold_id", TEXT), ("scope", TEXT)],
    "retention_set": [("bucket", TEXT), ("key", TEXT), ("version_id", TEXT_OR_EMPTY), ("mode", TEXT),
                      ("retain_until_ms", COUNT)],
    "deletion_notice": [("scope", TEXT), ("effective_ms", COUNT), ("recipients", TEXT_LIST)],
    "notice_delivery": [("notice_index", COUNT), ("attempt", COUNT), ("url", TEXT), ("http_status", COUNT),
                        ("error", TEXT_OR_EMPTY)],
    "acknowledgement": [("notice_index", COUNT), ("recipient_key_id", TEXT), ("recipient_public_key", SHA256_HEX),
                        ("signature", SIGNATURE_HEX)],
    "retirement_planned": [("scope", TEXT), ("name", TEXT)],
    "retirement_executed": [("scope", TEXT), ("name", TEXT)],
    "data_destroyed": [("what", TEXT), ("reason", TEXT)],
}
NOTICE_KINDS = ("deletion_notice", "preservation_request", "retirement_planned")


class Invalid(Exception):
    pass


class CannotRead(Exception):
    pass


# ---- hashing (RFC 9162 section 2.1) -------------------------------------------

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def split_point(n):
    """The largest power of two strictly below n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """All leaf hashes plus every complete subtree, so any root or proof is
    a fold of O(log n) stored hashes."""

    def __init__(self, leaves):
        self.levels = [list(leaves)]
        level = 0
        while len(self.levels[level]) > 1:
            below = self.levels[level]
            self.levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
            level += 1

    @property
    def size(self):
        return len(self.levels[0])

    def mth(self, begin, end):
        """MTH(D[begin:end]) for the aligned ranges RFC 9162's recursion visits:
        the right fold of the complete subtrees of the binary decomposition."""
        if begin == end:
            return EMPTY_ROOT
        parts = []
        position, width_bits = begin, (end - begin).bit_length()
        for level in range(width_bits - 1, -1, -1):
            if (end - begin) & (1 << level):
                assert position % (1 << level) == 0
                parts.append(self.levels[level][position >> level])
                position += 1 << level
        acc = parts[-1]
        for part in reversed(parts[:-1]):
            acc = node_hash(part, acc)
        return acc

    def root(self, size):
        return self.mth(0, size)

    def inclusion_proof(self, index, size):
        proof = []

        def path(m, begin, end):
            n = end - begin
            if n == 1:
                return
            k = split_point(n)
            if m < k:
                path(m, begin, begin + k)
                proof.append(self.mth(begin + k, end))
            else:
                path(m - k, begin + k, end)
                proof.append(self.mth(begin, begin + k))

        path(index, 0, size)
        return proof

    def consistency_proof(self, first, second):
        proof = []

        def subproof(m, begin, end, whole):
            n = end - begin
            if m == n:
                if not whole:
                    proof.append(self.mth(begin, end))
                return
            k = split_point(n)
            if m <= k:
                subproof(m, begin, begin + k, whole)
                proof.append(self.mth(begin + k, end))
            else:
                subproof(m - k, begin + k, end, False)
                proof.append(self.mth(begin, begin + k))

        if 0 < first < second:
            subproof(first, 0, second, True)
        return proof


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 section 2.1.4.2, plus the trivial cases (equal sizes: equal
    roots and no proof; first == 0: no proof)."""
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = ([first_root] if first & (first - 1) == 0 else []) + list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# ---- signatures -----------------------------------------------------------------

def verify_signature(public_key, message, signature):
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
        return True
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError, TypeError):
        return False


def tree_head_signing_input(head):
    return (TREE_HEAD_DOMAIN + head["tree_size"].to_bytes(8, "big") + head["timestamp_ms"].to_bytes(8, "big") +
            head["root_hash"] + head["previous_head_hash"])


def tree_head_hash(head):
    return hashlib.sha256(tree_head_signing_input(head)).digest()


def key_id(public_key):
    return hashlib.sha256(public_key).hexdigest()[:16]


# ---- entries ----------------------------------------------------------------------

def is_int(value):
    return type(value) is int  # bool is an int subclass, and not a number here


def check_numbers(value):
    if isinstance(value, float):
        raise Invalid("holds a fractional number; ledger entries hold only integers")
    if is_int(value) and not INT64_MIN <= value <= INT64_MAX:
        raise Invalid("holds an integer beyond the signed 64-bit range")
    if isinstance(value, dict):
        for item in value.values():
            check_numbers(item)
    elif isinstance(value, list):
        for item in value:
            check_numbers(item)


def canonical(value):
    """The canonical bytes (docs/ledger.md): sorted keys, no whitespace,
    minimal escapes, raw UTF-8."""
    check_numbers(value)
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("not valid UTF-8")


def type_mismatch(value, kind):
    if kind == TEXT:
        return None if isinstance(value, str) and value else "a non-empty string"
    if kind == TEXT_OR_EMPTY:
        return None if isinstance(value, str) else "a string"
    if kind == COUNT:
        return None if is_int(value) and value >= 0 else "an integer >= 0"
    if kind in (SHA256_HEX, SIGNATURE_HEX):
        digits = 64 if kind == SHA256_HEX else 128
        ok = isinstance(value, str) and len(value) == digits and LOWER_HEX.match(value)
        return None if ok else f"{digits} lower-case hex digits"
    if kind == TEXT_LIST:
        ok = isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
        return None if ok else "a non-empty list of non-empty strings"
    raise AssertionError(kind)


def parse_json(data):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def parse_entry(data):
    """Checks one entry's bytes; returns (index, kind, fields) or raises Invalid."""
    obj = parse_json(data)
    if not isinstance(obj, dict):
        raise Invalid("not a JSON object")
    if canonical(obj) != data:
        raise Invalid("not in canonical form (sorted keys, no whitespace, minimal escapes)")
    index, kind, timestamp = obj.get("index"), obj.get("kind"), obj.get("timestamp_ms")
    if not is_int(index) or index < 0:
        raise Invalid("'index' is missing or not an integer >= 0")
    if not isinstance(kind, str):
        raise Invalid("'kind' is missing")
    if not is_int(timestamp):
        raise Invalid("'timestamp_ms' is missing or not an integer")
    if kind not in KINDS:
        raise Invalid(f"unknown kind '{kind}'")
    fields = {k: v for k, v in obj.items() if k not in RESERVED}
    for name, field_type in KINDS[kind]:
        if name not in fields:
            raise Invalid(f"{kind} entry: field '{name}' is missing")
        expected = type_mismatch(fields[name], field_type)
        if expected:
            raise Invalid(f"{kind} entry: field '{name}' must be {expected}")
    return index, kind, fields


# ---- tree heads -------------------------------------------------------------------

def parse_tree_head(value):
    if not isinstance(value, dict):
        raise Invalid("a tree head must be a JSON object")
    size, timestamp = value.get("tree_size"), value.get("timestamp_ms")
    root, previous, signature = value.get("root_hash"), value.get("previous_head_hash"), value.get("signature")
    if not is_int(size) or not 0 <= size <= INT64_MAX:
        raise Invalid("'tree_size' is missing or not an integer >= 0")
    if not is_int(timestamp) or not 0 <= timestamp <= INT64_MAX:
        raise Invalid("'timestamp_ms' is missing or not an integer >= 0")
    if not isinstance(root, str) or not HEX64.match(root):
        raise Invalid("'root_hash' is missing or not 64 hex digits")
    if not isinstance(previous, str) or not HEX64.match(previous):
        raise Invalid("'previous_head_hash' is missing or not 64 hex digits")
    if not isinstance(signature, str) or not HEX128.match(signature):
        raise Invalid("'signature' is missing or not 128 hex digits")
    return {"tree_size": size, "timestamp_ms": timestamp, "root_hash": bytes.fromhex(root),
            "previous_head_hash": bytes.fromhex(previous), "signature": bytes.fromhex(signature)}


def verify_tree_head(public_key, head):
    return verify_signature(public_key, tree_head_signing_input(head), head["signature"])


def head_json(head):
    return {"tree_size": head["tree_size"], "timestamp_ms": head["timestamp_ms"],
            "root_hash": head["root_hash"].hex(), "previous_head_hash": head["previous_head_hash"].hex(),
            "signature": head["signature"].hex()}


# ---- the export ---------------------------------------------------------------------

def split_lines(content):
    lines = content.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CannotRead(f"cannot read {path}: {e.strerror}")


def read_export(directory, trusted_key):
    if trusted_key is not None:
        public_key = trusted_key
    else:
        path = os.path.join(directory, "public_key.json")
        key = parse_json(read_file(path))
        hex_key = key.get("public_key") if isinstance(key, dict) else None
        if not isinstance(key, dict) or key.get("algorithm") != "ed25519" or \
                not isinstance(hex_key, str) or not HEX64.match(hex_key):
            raise CannotRead(f"{path} holds no Ed25519 public key")
        public_key = bytes.fromhex(hex_key)
    entries = split_lines(read_file(os.path.join(directory, "entries.jsonl")))
    heads = split_lines(read_file(os.path.join(directory, "tree_heads.jsonl")))
    return {"public_key": public_key, "entries": entries, "heads": heads}


class Report:
    def __init__(self, entries=0, heads=0):
        self.entries, self.heads = entries, heads
        self.errors = []
        self.latest = None
        self.inclusion = None
        self.consistency = None

    def fail(self, location, message):
        self.errors.append({"location": location, "message": message})

    def to_json(self):
        return {"ok": not self.errors, "entries": self.entries, "tree_heads": self.heads,
                "latest_tree_head": head_json(self.latest) if self.latest else None,
                "errors": self.errors, "inclusion": self.inclusion, "consistency": self.consistency}

    def to_text(self):
        out = [f"FAIL {e['location']}: {e['message']}" for e in self.errors]
        summary = f"{self.entries} entries, {self.heads} tree heads"
        if self.latest:
            summary += f"; latest valid tree head: {self.latest['tree_size']} entries, " \
                       f"root {self.latest['root_hash'].hex()}"
        out.append(summary)
        if self.inclusion:
            out.append(f"entry {self.inclusion['index']} is in the signed tree of "
                       f"{self.inclusion['tree_size']} entries (proof of {len(self.inclusion['proof'])} hashes)")
        if self.consistency:
            out.append(f"the tree of {self.consistency['first']} entries is a prefix of the tree of "
                       f"{self.consistency['second']} entries (proof of {len(self.consistency['proof'])} hashes)")
        out.append("OK: the ledger verifies" if not self.errors else f"FAILED: {len(self.errors)} problem(s)")
        return "\n".join(out) + "\n"


def check_entries(log, leaves, report):
    parsed = [None] * len(log["entries"])
    for i, line in enumerate(log["entries"]):
        where = f"entry {i}"
        try:
            index, kind, fields = parse_entry(line)
        except Invalid as e:
            report.fail(where, str(e))
            continue
        if index != i:
            report.fail(where, f"claims index {index} but is entry {i} of the log "
                               "(entries removed, inserted or reordered)")
            continue
        if kind in ("notice_delivery", "acknowledgement"):
            notice = fields["notice_index"]
            if notice >= i:
                report.fail(where, f"notice_index {notice} is not an earlier entry")
                continue
            if parsed[notice] is None:
                report.fail(where, f"refers to entry {notice}, which is itself invalid")
                continue
            if parsed[notice] not in NOTICE_KINDS:
                report.fail(where, f"refers to entry {notice}, a {parsed[notice]}, not a notice or request")
                continue
            if kind == "acknowledgement":
                message = ACK_DOMAIN + leaves[notice]
                if not verify_signature(bytes.fromhex(fields["recipient_public_key"]), message,
                                        bytes.fromhex(fields["signature"])):
                    report.fail(where, f"the recipient's signature over entry {notice}'s leaf hash does not verify")
                    continue
        parsed[i] = kind


def check_heads(log, tree, report):
    valid = []  # (line, head) of heads that passed every check
    previous = None
    line_before = bytes(32)  # hash of the head on the line before, if it parsed: the chain's link
    for j, line in enumerate(log["heads"]):
        where = f"tree_head {j}"
        expected_previous = line_before
        try:
            head = parse_tree_head(parse_json(line))
        except Invalid as e:
            line_before = None
            report.fail(where, f"not a tree head: {e}")
            continue
        line_before = tree_head_hash(head)
        size = head["tree_size"]
        if not verify_tree_head(log["public_key"], head):
            report.fail(where, f"the signature does not verify (tree_size {size}, "
                               f"timestamp_ms {head['timestamp_ms']})")
            continue
        if expected_previous is not None and head["previous_head_hash"] != expected_previous:
            report.fail(where, "names a previous tree head, but is the first in the file "
                               "(tree heads removed from the start)" if j == 0 else
                        f"does not follow tree_head {j - 1} (tree heads removed, inserted or reordered)")
            continue
        if size > tree.size:
            report.fail(where, f"signed for {size} entries but the log holds only {tree.size} "
                               "(entries removed from the end)")
            continue
        if tree.root(size) != head["root_hash"]:
            matching = max([h["tree_size"] for _, h in valid if h["tree_size"] < size], default=0)
            report.fail(where, f"the root hash signed for {size} entries does not match the log's: "
                               f"an entry among {matching}..{size - 1} was changed, removed or reordered")
            continue
        if previous and (size < previous[1]["tree_size"] or head["timestamp_ms"] < previous[1]["timestamp_ms"]):
            report.fail(where, f"is smaller or older than tree_head {previous[0]} before it (tree heads reordered)")
            continue
        previous = (j, head)
        valid.append((j, head))
    report.latest = previous[1] if previous else None
    return valid


def head_of_size(valid, size):
    found = None
    for _, head in valid:
        if head["tree_size"] == size:
            found = head
    return found


def verify_log(log, entry=None, consistency=None):
    report = Report(len(log["entries"]), len(log["heads"]))
    leaves = [leaf_hash(line) for line in log["entries"]]
    tree = Tree(leaves)
    check_entries(log, leaves, report)
    valid = check_heads(log, tree, report)
    if entry is not None:
        where, latest = f"inclusion {entry}", report.latest
        if entry >= tree.size:
            report.fail(where, f"the log holds only {tree.size} entries")
        elif latest is None or latest["tree_size"] <= entry:
            report.fail(where, f"no valid tree head covers entry {entry}")
        else:
            proof = tree.inclusion_proof(entry, latest["tree_size"])
            if verify_inclusion(entry, latest["tree_size"], leaves[entry], proof, latest["root_hash"]):
                report.inclusion = {"index": entry, "tree_size": latest["tree_size"], "leaf_hash": leaves[entry].hex(),
                                    "root_hash": latest["root_hash"].hex(), "proof": [p.hex() for p in proof]}
            else:
                report.fail(where, "the inclusion proof does not verify")
    if consistency is not None:
        first, second = consistency
        where = f"consistency {first} {second}"
        a, b = head_of_size(valid, first), head_of_size(valid, second)
        if first > second or a is None or b is None:
            missing = first if a is None else second
            report.fail(where, "the first size must not exceed the second" if first > second
                        else f"no valid tree head of {missing} entries in the export")
        else:
            proof = tree.consistency_proof(first, second)
            if verify_consistency(first, second, a["root_hash"], b["root_hash"], proof):
                report.consistency = {"first": first, "second": second, "first_root_hash": a["root_hash"].hex(),
                                      "second_root_hash": b["root_hash"].hex(), "proof": [p.hex() for p in proof]}
            else:
                report.fail(where, "the consistency proof does not verify")
    return report, tree


def verify_receipt(receipt, trusted_key, log):
    report, tree = verify_log(log) if log else (Report(), None)
    try:
        check_receipt(receipt, trusted_key, log, tree, report)
    except Invalid as e:
        report.fail("receipt", str(e))
    return report


def check_receipt(receipt, trusted_key, log, tree, report):
    if not isinstance(receipt, dict):
        raise Invalid("not a JSON object")
    hex_key = receipt.get("public_key")
    if not isinstance(hex_key, str) or not HEX64.match(hex_key):
        raise Invalid("'public_key' is missing or not 64 hex digits")
    key = bytes.fromhex(hex_key)
    if trusted_key is not None and trusted_key != key:
        raise Invalid(f"signed with key {key_id(key)}, not the trusted key {key_id(trusted_key)}")
    if log and log["public_key"] != key:
        raise Invalid(f"signed with key {key_id(key)}, not the log's key {key_id(log['public_key'])}")
    if not isinstance(receipt.get("entry"), dict):
        raise Invalid("'entry' is missing")
    data = canonical(receipt["entry"])
    try:
        index, _, _ = parse_entry(data)
    except Invalid as e:
        raise Invalid(f"the entry is invalid: {e}")
    if not is_int(receipt.get("index")) or receipt["index"] != index:
        raise Invalid("'index' is missing or differs from the entry's index")
    leaf = leaf_hash(data)
    if "leaf_hash" in receipt and receipt["leaf_hash"] != leaf.hex():
        raise Invalid("'leaf_hash' is not the hash of the entry")
    try:
        head = parse_tree_head(receipt.get("tree_head"))
    except Invalid as e:
        raise Invalid(f"tree_head: {e}")
    if not verify_tree_head(key, head):
        raise Invalid("the tree head's signature does not verify")
    proof_json = receipt.get("inclusion_proof")
    if not isinstance(proof_json, list):
        raise Invalid("'inclusion_proof' is missing")
    if not all(isinstance(p, str) and HEX64.match(p) for p in proof_json):
        raise Invalid("'inclusion_proof' holds a non-hash")
    proof = [bytes.fromhex(p) for p in proof_json]
    size, root = head["tree_size"], head["root_hash"]
    if not verify_inclusion(index, size, leaf, proof, root):
        raise Invalid(f"the inclusion proof does not show entry {index} in the signed tree of {size} entries")
    report.inclusion = {"index": index, "tree_size": size, "leaf_hash": leaf.hex(), "root_hash": root.hex(),
                        "proof": proof_json}
    if not log:
        return
    if index >= len(log["entries"]):
        raise Invalid(f"the log holds only {len(log['entries'])} entries: entry {index} was dropped")
    if log["entries"][index] != data:
        raise Invalid(f"the log's entry {index} differs from the receipt's")
    if size > tree.size or tree.root(size) != root:
        raise Invalid(f"the log's first {size} entries are not the ones the receipt's tree head signed: "
                      "history was rewritten")
    later = report.latest
    if later is None or later["tree_size"] < size:
        raise Invalid(f"the log has no valid tree head at or after the receipt's ({size} entries)")
    consistency = tree.consistency_proof(size, later["tree_size"])
    if not verify_consistency(size, later["tree_size"], root, later["root_hash"], consistency):
        raise Invalid("the log's latest tree head is not consistent with the receipt's")
    report.consistency = {"first": size, "second": later["tree_size"], "first_root_hash": root.hex(),
                          "second_root_hash": later["root_hash"].hex(), "proof": [p.hex() for p in consistency]}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="check an exported ledger")
    verify.add_argument("dir")
    verify.add_argument("--entry", type=int)
    verify.add_argument("--consistency", type=int, nargs=2, metavar=("FIRST", "SECOND"))
    verify.add_argument("--public-key")
    verify.add_argument("--json", action="store_true")
    receipt = sub.add_parser("verify-receipt", help="check a receipt")
    receipt.add_argument("receipt")
    receipt.add_argument("--against", metavar="DIR")
    receipt.add_argument("--public-key")
    receipt.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    try:
        trusted = None
        if args.public_key is not None:
            if not HEX64.match(args.public_key):
                raise CannotRead("--public-key must be 64 hex digits")
            trusted = bytes.fromhex(args.public_key)
        if args.command == "verify":
            if args.entry is not None and args.entry < 0 or args.consistency and min(args.consistency) < 0:
                raise CannotRead("sizes and indices are whole numbers")
            report, _ = verify_log(read_export(args.dir, trusted), args.entry,
                                   tuple(args.consistency) if args.consistency else None)
        else:
            document = parse_json(read_file(args.receipt))
            log = read_export(args.against, trusted) if args.against else None
            report = verify_receipt(document, trusted, log)
    except CannotRead as e:
        print(f"ledger_verify: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        sys.stdout.write(report.to_text())
    return 0 if not report.errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
