"""The notice ledger end to end (docs/ledger.md): preservation requests,
notices and acknowledgements filed against a real `holdfast dev`, signed
receipts, an export checked offline by both verifiers (`holdfast ledger
verify` and the independent tools/ledger_verify.py), and every kind of
tampering failing in both, at the same place."""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request

import nacl.signing
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from cluster import DevCluster, wait_for  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY_VERIFIER = os.path.join(REPO, "tools", "ledger_verify.py")
sys.path.insert(0, os.path.join(REPO, "tools"))
import ledger_verify  # noqa: E402

ACK_DOMAIN = b"holdfast-ledger-ack-v1\x00"


@pytest.fixture(scope="module")
def cluster():
    # One node per provider is enough for the ledger; a 1 s interval shows
    # the periodic tree-head signer at work.
    with DevCluster(providers=3, nodes_per_provider=1, extra_args=["--ledger-head-interval-s", "1"]) as c:
        yield c


def admin(cluster, method, path, body=None):
    """(status, parsed JSON or raw bytes) of a ledger admin request."""
    request = urllib.request.Request(
        cluster.endpoint + "/_holdfast/v1/ledger/" + path, data=body, method=method,
        headers={"Authorization": "HoldfastCluster " + cluster.cluster_secret()})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def holdfast(cluster, *args):
    return subprocess.run([cluster.binary, "ledger", *args], capture_output=True, text=True, timeout=120)


def both(cluster, *args):
    """Runs `holdfast ledger ARGS --json` and `ledger_verify.py ARGS --json`;
    returns their (exit code, report) pairs."""
    cpp = holdfast(cluster, *args, "--json")
    py = subprocess.run(["/usr/bin/python3", PY_VERIFIER, *args, "--json"], capture_output=True, text=True,
                        timeout=120)
    out = []
    for name, result in (("holdfast", cpp), ("ledger_verify.py", py)):
        assert result.returncode in (0, 1), f"{name} {args}: exit {result.returncode}: {result.stderr}"
        out.append((result.returncode, json.loads(result.stdout)))
    return out


def locations(report):
    return [e["location"] for e in report["errors"]]


def post_entry(cluster, kind, fields):
    return admin(cluster, "POST", "entries", json.dumps({"kind": kind, "fields": fields}).encode())


def test_tree_head_is_signed_periodically_before_any_entry(cluster):
    # Nothing was filed yet: only the background signer can have signed.
    head = wait_for(lambda: admin(cluster, "GET", "head")[1]["tree_head"], 15, "the first periodic tree head")
    status, reply = admin(cluster, "GET", "head")
    assert status == 200 and reply["tree_size"] == 0
    assert head["tree_size"] == 0 and head["previous_head_hash"] == "0" * 64
    assert len(reply["key_id"]) == 16 and reply["algorithm"] == "ed25519"
    assert admin(cluster, "GET", "public-key")[1]["public_key"] == reply["public_key"]


@pytest.fixture(scope="module")
def filed(cluster, tmp_path_factory):
    """Files requests, a notice, its delivery and acknowledgement; returns
    the receipts by name."""
    work = tmp_path_factory.mktemp("ledger")
    receipts = {}
    for name, case, by, document in [
            ("first", "1:24-cv-0042", "Counsel for the plaintiffs", b"Please preserve all data of customer 17."),
            # Escapes and non-ASCII must canonicalise identically in both verifiers.
            ("unicode", 'Müller ./. "Hostco" \\ tab\there', "Kanzlei Ölberg & Söhne", os.urandom(5000))]:
        path = work / f"{name}.doc"
        path.write_bytes(document)
        receipt_path = work / f"{name}.receipt.json"
        result = holdfast(cluster, "file-request", "--dev-dir", cluster.data_dir, "--case", case, "--by", by,
                          "--document", str(path), "--scope", "all buckets", "--receipt-out", str(receipt_path),
                          "--json")
        assert result.returncode == 0, result.stderr
        receipt = json.loads(result.stdout)
        assert json.loads(receipt_path.read_text()) == receipt
        entry = receipt["entry"]
        assert entry["kind"] == "preservation_request" and entry["case_reference"] == case
        assert entry["requested_by"] == by and entry["document_size_bytes"] == len(document)
        assert entry["document_sha256"] == hashlib.sha256(document).hexdigest()
        receipts[name] = (receipt, receipt_path)

    status, notice = post_entry(cluster, "deletion_notice", {
        "scope": "provider:hostco", "effective_ms": 1893456000000,
        "recipients": ["legal@hostco.example", "ops@hostco.example"]})
    assert status == 201, notice
    receipts["notice"] = (notice, None)
    status, delivery = post_entry(cluster, "notice_delivery", {
        "notice_index": notice["index"], "attempt": 1, "url": "https://hostco.example/notices",
        "http_status": 202, "error": ""})
    assert status == 201, delivery

    # The recipient acknowledges with their own key, over the notice's leaf hash.
    recipient = nacl.signing.SigningKey.generate()
    message = ACK_DOMAIN + bytes.fromhex(notice["leaf_hash"])
    ack = {"notice_index": notice["index"], "recipient_key_id": "hostco-legal-2024",
           "recipient_public_key": recipient.verify_key.encode().hex(),
           "signature": recipient.sign(message).signature.hex()}
    status, acked = admin(cluster, "POST", "acknowledgements", json.dumps(ack).encode())
    assert status == 201, acked
    receipts["ack"] = (acked, None)
    # Signed by someone else: refused, and not recorded.
    forged = dict(ack, signature=nacl.signing.SigningKey.generate().sign(message).signature.hex())
    status, refused = admin(cluster, "POST", "acknowledgements", json.dumps(forged).encode())
    assert status == 400 and "signature" in refused["error"], refused

    for i in range(5):
        status, reply = post_entry(cluster, "data_destroyed", {"what": f"bucket old-{i}", "reason": "retention over"})
        assert status == 201, reply
    # Extra fields of every JSON type, and characters whose escaping differs
    # between careless serialisers: both verifiers must get the same bytes.
    status, reply = post_entry(cluster, "data_destroyed", {
        "what": "emoji \U0001f389, U+2028 \u2028, DEL \x7f, US \x1f, slash /, <>&'",
        "reason": "differential check", "extra": {"true": True, "null": None, "list": [1, -5, "x", []],
                                                   "nested": {"z": 1, "a": {"b": ""}}}})
    assert status == 201, reply
    assert reply["entry"]["extra"]["nested"]["a"] == {"b": ""}
    status, last = admin(cluster, "POST", "preservation-requests?case=C-9&requested_by=court", b"order")
    assert status == 201, last
    receipts["last"] = (last, None)
    return receipts


def test_receipts_verify_offline_in_both_verifiers(cluster, filed):
    indices = [filed[name][0]["index"] for name in ("first", "unicode", "notice", "ack", "last")]
    assert indices == sorted(indices) and indices[0] == 0
    for name in ("first", "unicode"):
        receipt, path = filed[name]
        assert receipt["tree_head"]["tree_size"] == receipt["index"] + 1  # signed right after the append
        for code, report in both(cluster, "verify-receipt", str(path)):
            assert code == 0 and report["ok"], report
            assert report["inclusion"]["index"] == receipt["index"]
    # Pinning another key fails in both.
    other = nacl.signing.SigningKey.generate().verify_key.encode().hex()
    for code, report in both(cluster, "verify-receipt", str(filed["first"][1]), "--public-key", other):
        assert code == 1 and locations(report) == ["receipt"]


def test_bad_requests_are_refused_with_reasons(cluster, filed):
    status, reply = admin(cluster, "POST", "preservation-requests?requested_by=x", b"doc")
    assert status == 400 and "case" in reply["error"]
    status, reply = post_entry(cluster, "hold", {})
    assert status == 400 and "unknown entry kind" in reply["error"]
    status, reply = post_entry(cluster, "deletion_notice", {"scope": "x", "effective_ms": 1, "recipients": []})
    assert status == 400 and "recipients" in reply["error"]
    status, reply = post_entry(cluster, "notice_delivery", {"notice_index": 0, "attempt": 1, "url": "u",
                                                            "http_status": 0, "error": "timeout"})
    assert status == 201  # entry 0 is a preservation request: a notice
    status, reply = admin(cluster, "GET", "proof/inclusion?index=100000")
    assert status == 400, reply
    status, _ = admin(cluster, "DELETE", "head")
    assert status == 405
    status, _ = admin(cluster, "GET", "nothing-here")
    assert status == 404


@pytest.fixture(scope="module")
def export(cluster, filed, tmp_path_factory):
    status, _ = admin(cluster, "POST", "head")  # cover everything appended since the last receipt
    assert status == 201
    out = tmp_path_factory.mktemp("export") / "ledger"
    result = holdfast(cluster, "export", "--dev-dir", cluster.data_dir, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Exported" in result.stdout
    return out


def lines(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")[:-1]


def test_export_verifies_in_both_verifiers_with_the_same_proofs(cluster, export):
    heads = [json.loads(line) for line in lines(export / "tree_heads.jsonl")]
    entries = lines(export / "entries.jsonl")
    sizes = sorted({h["tree_size"] for h in heads if h["tree_size"] > 0})
    first, second = sizes[0], sizes[-1]
    assert second == len(entries)
    (cpp_code, cpp), (py_code, py) = both(cluster, "verify", str(export), "--entry", "1",
                                          "--consistency", str(first), str(second))
    assert cpp_code == 0 and py_code == 0, (cpp["errors"], py["errors"])
    assert cpp["ok"] and py["ok"]
    assert cpp["entries"] == py["entries"] == len(entries)
    assert cpp["tree_heads"] == py["tree_heads"] == len(heads)
    assert cpp["latest_tree_head"] == py["latest_tree_head"] == heads[-1]
    assert cpp["inclusion"] == py["inclusion"] and cpp["inclusion"]["proof"]
    assert cpp["consistency"] == py["consistency"] and cpp["consistency"]["proof"]
    # The human report.
    result = holdfast(cluster, "verify", str(export))
    assert result.returncode == 0 and "OK: the ledger verifies" in result.stdout


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def first_head_covering(heads, index):
    return next(j for j, h in enumerate(heads) if json.loads(h)["tree_size"] > index)


def edit_entry(entries, heads):
    entry = json.loads(entries[1])
    entry["case_reference"] = "a different case"
    entries[1] = canonical(entry)  # still canonical, still index 1: only the hashes tell
    return f"tree_head {first_head_covering(heads, 1)}"


def reformat_entry(entries, heads):
    entries[1] = entries[1].replace(b'{"', b'{ "', 1)
    return "entry 1"


def delete_entry(entries, heads):
    del entries[2]
    return "entry 2"


def swap_entries(entries, heads):
    entries[0], entries[1] = entries[1], entries[0]
    return "entry 0"


def truncate_log(entries, heads):
    del entries[-2:]
    return f"tree_head {len(heads) - 1}"


def edit_head_root(entries, heads):
    head = json.loads(heads[-2])
    head["root_hash"] = "ab" * 32
    heads[-2] = json.dumps(head).encode()
    return f"tree_head {len(heads) - 2}"


def edit_head_signature(entries, heads):
    head = json.loads(heads[1])
    head["signature"] = ("0" if head["signature"][0] != "0" else "1") + head["signature"][1:]
    heads[1] = json.dumps(head).encode()
    return "tree_head 1"


def delete_head(entries, heads):
    del heads[2]
    return "tree_head 2"


def swap_heads(entries, heads):
    heads[2], heads[3] = heads[3], heads[2]
    return "tree_head 2"


@pytest.mark.parametrize("tamper", [edit_entry, reformat_entry, delete_entry, swap_entries, truncate_log,
                                    edit_head_root, edit_head_signature, delete_head, swap_heads])
def test_tampering_fails_in_both_verifiers_at_the_same_place(cluster, export, tmp_path, tamper):
    copy = tmp_path / "ledger"
    shutil.copytree(export, copy)
    entries, heads = lines(copy / "entries.jsonl"), lines(copy / "tree_heads.jsonl")
    expected = tamper(entries, heads)
    (copy / "entries.jsonl").write_bytes(b"".join(e + b"\n" for e in entries))
    (copy / "tree_heads.jsonl").write_bytes(b"".join(h + b"\n" for h in heads))
    (cpp_code, cpp), (py_code, py) = both(cluster, "verify", str(copy))
    assert cpp_code == 1 and py_code == 1
    assert not cpp["ok"] and not py["ok"]
    assert locations(cpp) == locations(py), (cpp["errors"], py["errors"])
    assert expected in locations(cpp), cpp["errors"]
    # The human report names the place too.
    result = holdfast(cluster, "verify", str(copy))
    assert result.returncode == 1 and f"FAIL {expected}:" in result.stdout


def test_receipt_is_proven_against_a_later_tree_head(cluster, filed, export, tmp_path):
    receipt, path = filed["first"]
    status, head = admin(cluster, "GET", "head")
    assert status == 200 and head["tree_head"]["tree_size"] > receipt["tree_head"]["tree_size"]
    later = head["tree_head"]

    # Offline, against the later export: still there, history not rewritten.
    for code, report in both(cluster, "verify-receipt", str(path), "--against", str(export)):
        assert code == 0, report["errors"]
        assert report["consistency"]["first"] == receipt["tree_head"]["tree_size"]

    # Online: the gateway's proofs against the latest signed head.
    key = bytes.fromhex(head["public_key"])
    later_head = ledger_verify.parse_tree_head(later)
    assert ledger_verify.verify_tree_head(key, later_head)
    status, inclusion = admin(cluster, "GET", f"proof/inclusion?index={receipt['index']}")
    assert status == 200 and inclusion["tree_size"] == later["tree_size"]
    assert ledger_verify.verify_inclusion(receipt["index"], later["tree_size"], bytes.fromhex(receipt["leaf_hash"]),
                                          [bytes.fromhex(p) for p in inclusion["proof"]], later_head["root_hash"])
    first = receipt["tree_head"]["tree_size"]
    status, consistency = admin(cluster, "GET", f"proof/consistency?first={first}")
    assert status == 200 and consistency["second"] == later["tree_size"]
    assert consistency["first_tree_head"]["root_hash"] == receipt["tree_head"]["root_hash"]
    assert ledger_verify.verify_consistency(first, later["tree_size"], bytes.fromhex(receipt["tree_head"]["root_hash"]),
                                            later_head["root_hash"], [bytes.fromhex(p) for p in consistency["proof"]])

    # An export whose operator dropped the entry does not back the receipt.
    dropped = tmp_path / "dropped"
    shutil.copytree(export, dropped)
    entries = lines(dropped / "entries.jsonl")
    entry = json.loads(entries[receipt["index"]])
    entry["requested_by"] = "nobody"
    entries[receipt["index"]] = canonical(entry)
    (dropped / "entries.jsonl").write_bytes(b"".join(e + b"\n" for e in entries))
    reports = both(cluster, "verify-receipt", str(path), "--against", str(dropped))
    for code, report in reports:
        assert code == 1 and locations(report)[-1] == "receipt", report["errors"]
    assert locations(reports[0][1]) == locations(reports[1][1])


def test_tampering_with_the_stored_log_shows_in_the_next_export(cluster, export, tmp_path):
    # Last in this module: it breaks the cluster's ledger for good. The
    # triggers refuse the edit until someone drops them deliberately.
    db = sqlite3.connect(os.path.join(cluster.data_dir, "gateway", "meta.db"), timeout=10)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE ledger_entries SET canonical = canonical WHERE idx = 0")
        db.execute("DROP TRIGGER ledger_entries_append_only")
        row = db.execute("SELECT canonical FROM ledger_entries WHERE idx = 0").fetchone()
        entry = json.loads(row[0])
        entry["scope"] = "nothing at all"
        db.execute("UPDATE ledger_entries SET canonical = ? WHERE idx = 0", (canonical(entry).decode(),))
        db.commit()
    finally:
        db.close()
    out = tmp_path / "after"
    result = holdfast(cluster, "export", "--dev-dir", cluster.data_dir, "--out", str(out))
    assert result.returncode == 0, result.stderr
    (cpp_code, cpp), (py_code, py) = both(cluster, "verify", str(out))
    assert cpp_code == py_code == 1
    assert locations(cpp) == locations(py)
    heads = lines(out / "tree_heads.jsonl")
    assert f"tree_head {first_head_covering(heads, 0)}" in locations(cpp)
