"""RFC 9162 hashing and proofs, against published Certificate Transparency vectors and
against pymerkle (an independent implementation) in its RFC 9162 mode."""

from __future__ import annotations

import random

import pytest
from pymerkle import InmemoryTree

from palate.ledger import merkle
from palate.ledger.standalone_proof import verify_proof

# The eight test leaves and roots of the RFC 6962 reference tests (certificate-transparency
# merkle_tree_test.cc, also transparency-dev/merkle's testdata).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# Inclusion path of leaf 0 in the 8-leaf tree, and consistency proofs 6 -> 8 and 2 -> 5.
CT_PATH_0_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
CT_CONSISTENCY_6_8 = [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]
CT_CONSISTENCY_2_5 = [
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
]

LEAVES = [merkle.leaf_hash(e) for e in CT_LEAVES]


def test_published_ct_vectors() -> None:
    for n, expected in enumerate(CT_ROOTS, start=1):
        assert merkle.root(LEAVES[:n]).hex() == expected
    assert merkle.root([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert [h.hex() for h in merkle.inclusion_proof(LEAVES, 0)] == CT_PATH_0_8
    assert [h.hex() for h in merkle.consistency_proof(LEAVES, 6)] == CT_CONSISTENCY_6_8
    assert [h.hex() for h in merkle.consistency_proof(LEAVES, 2, 5)] == CT_CONSISTENCY_2_5
    root8 = bytes.fromhex(CT_ROOTS[7])
    assert merkle.verify_consistency(
        6, 8, bytes.fromhex(CT_ROOTS[5]), root8, [bytes.fromhex(h) for h in CT_CONSISTENCY_6_8]
    )


def _pymerkle_tree(entries: list[bytes]) -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")  # security on: RFC 9162's 0x00/0x01 prefixes
    for e in entries:
        tree.append_entry(e)
    return tree


def test_roots_and_proofs_agree_with_pymerkle() -> None:
    rng = random.Random(7)
    entries = [rng.randbytes(rng.randrange(0, 64)) for _ in range(67)]
    tree = _pymerkle_tree(entries)
    leaves = [merkle.leaf_hash(e) for e in entries]
    for n in range(1, len(entries) + 1):
        expected = tree.get_root(n)
        assert merkle.root(leaves[:n]) == expected
        for i in range(n):
            path = merkle.inclusion_proof(leaves, i, n)
            assert merkle.verify_inclusion(i, n, leaves[i], path, expected)
            # pymerkle's path starts with the leaf itself, then the same siblings.
            assert tree.prove_inclusion(i + 1, n).path[1:] == path
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(leaves, m, n)
            assert merkle.verify_consistency(m, n, tree.get_root(m), expected, proof)


def test_accumulator_matches_for_any_batching() -> None:
    rng = random.Random(3)
    leaves = [merkle.leaf_hash(rng.randbytes(8)) for _ in range(300)]
    for _ in range(20):
        n = rng.randrange(0, 300)
        acc = merkle.RootAccumulator()
        start = 0
        for cut in [*sorted(rng.sample(range(n + 1), min(4, n + 1))), n]:
            acc.extend(leaves[start:cut])
            start = cut
        assert acc.size == n
        assert acc.root() == merkle.root(leaves[:n])


def test_proofs_fail_when_anything_is_wrong() -> None:
    root = merkle.root(LEAVES)
    path = merkle.inclusion_proof(LEAVES, 5)
    assert merkle.verify_inclusion(5, 8, LEAVES[5], path, root)
    assert not merkle.verify_inclusion(4, 8, LEAVES[5], path, root)
    assert not merkle.verify_inclusion(5, 8, LEAVES[5], path, merkle.root(LEAVES[:7]))
    assert not merkle.verify_inclusion(5, 4, LEAVES[5], path, root)
    assert not merkle.verify_inclusion(5, 8, LEAVES[4], path, root)
    assert not merkle.verify_inclusion(5, 8, LEAVES[5], path[:-1], root)
    assert not merkle.verify_inclusion(8, 8, LEAVES[5], path, root)


def test_consistency_proof_fails_when_history_was_rewritten() -> None:
    old_root = merkle.root(LEAVES[:5])
    rewritten = [*LEAVES[:3], merkle.leaf_hash(b"forged"), *LEAVES[4:]]
    proof = merkle.consistency_proof(rewritten, 5)
    assert not merkle.verify_consistency(5, 8, old_root, merkle.root(rewritten), proof)
    honest = merkle.consistency_proof(LEAVES, 5)
    assert merkle.verify_consistency(5, 8, old_root, merkle.root(LEAVES), honest)
    assert not merkle.verify_consistency(5, 8, old_root, merkle.root(rewritten), honest)


@pytest.mark.parametrize("index", [0, 3, 6])
def test_standalone_verifier(index: int) -> None:
    entries = [b'{"a":%d}' % i for i in range(7)]
    leaves = [merkle.leaf_hash(e) for e in entries]
    proof = {
        "record": entries[index].decode(),
        "leaf_index": index,
        "tree_size": 7,
        "root_hash": _pymerkle_tree(entries).get_root().hex(),
        "inclusion_path": [h.hex() for h in merkle.inclusion_proof(leaves, index)],
        "checkpoint": None,
    }
    assert verify_proof(proof)
    assert not verify_proof({**proof, "record": '{"a":99}'})
    assert not verify_proof({**proof, "leaf_index": (index + 1) % 7})
    assert not verify_proof({**proof, "inclusion_path": proof["inclusion_path"][:-1]})
