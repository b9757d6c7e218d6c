"""Iteration order of Node's exact-address rules: a model of the C++ hash table that holds them.

Theory of operation
-------------------
``blockList.rules`` lists exact-address rules in whatever order Node's address map iterates, so the
only way to reproduce that order is to model the map itself.  Three layers decide it.

**The map and what goes into it** (Node v24.21.0, ``src/node_sockaddr.cc``).  The stored reference
sources only hold older ``node_sockaddr.cc`` files (one ``std::list`` of rules, ``hash_combine``
hashing); 24.21 rewrote the block list (``addAddresses``, ``removeRange``, ``clear``, ``size``, a
subnet trie), so the facts below were read from the v24.21.0 x64 binary itself: its symbol table
(``nm -C``) and the machine code of the functions named (``objdump -d``).

* ``SocketAddressBlockList`` keeps exact addresses in ``std::unordered_map<SocketAddress,
  SocketAddress, SocketAddress::IpHash, SocketAddress::IpEqual>`` (the ``_Hashtable`` instantiation
  is in the symbol table; its traits are ``<true, false, true>``: hash codes cached, unique keys).
* ``AddSocketAddressImpl(a)`` counts a new rule when ``find(a)`` misses, does ``map[a] = a``, then
  also ``map[alt(a)] = a`` where ``alt`` of an IPv4 address is its IPv4-mapped IPv6 form (built by
  ``uv_ip6_addr("::ffff:" + text)``) and ``alt`` of an IPv4-mapped IPv6 address is the embedded IPv4
  address; other IPv6 addresses have no ``alt``.  So every rule owns one or two keys, and a later
  add of either form overwrites the value under both keys without moving them.
* ``RemoveSocketAddress(a)`` erases ``a`` (uncounting the rule if it was there) and then ``alt(a)``.
  ``Clear()`` calls ``map.clear()``, which frees the nodes but keeps the bucket array.
* ``ListRules`` walks the map from ``begin()`` and prints each value the first time it meets it
  (a local ``std::unordered_map<SocketAddress, bool>`` of values already printed), so a rule shows
  where the first of its keys sits.  Subnets and ranges follow; they are not in this map.
* ``IpEqual`` compares family and address bytes only.  ``IpHash`` (``SocketAddress::IpHash::
  operator()`` at 0xa3cff0 in that binary) hashes only the address bytes, never the port, family
  or flow label.  With its constants folded it is a rapidhash-style multiply-fold (``rapid_mum``
  with rapidhash's secret 0x8bb84b93962eacc9 and final 0xaaaaaaaaaaaaaaaa): for IPv4 ``x`` is
  ``sin_addr.s_addr`` read as a little-endian 32-bit integer (network byte order in memory), for
  IPv6 ``a``/``b`` are the two halves of ``sin6_addr`` read as little-endian 64-bit integers::

      IPv4: lo, hi = 128-bit (x ^ 0x8bb84b93962eacc9) * (x ^ 0x422765567d8fbfd2)
            hash   = fold((lo ^ 0xaaaaaaaaaaaaaaaa) * (hi ^ 0x8bb84b93962eaccd))
      IPv6: lo, hi = 128-bit (a ^ 0x8bb84b93962eacc9) * (b ^ 0x422765567d8fbfc6)
            hash   = fold((lo ^ 0xaaaaaaaaaaaaaaaa) * (hi ^ 0x8bb84b93962eacd9))

  where ``fold`` of a 128-bit product is its low 64 bits xor its high 64 bits.

**The table** (libstdc++ ``bits/hashtable.h``, the header code compiled into Node).  A
``_Hashtable`` is one singly linked list of all nodes, starting at ``_M_before_begin``, in which
the nodes of a bucket are contiguous; ``_M_buckets[b]`` points at the node *before* bucket ``b``'s
first node (``&_M_before_begin`` for the bucket at the front).  Bucket index is ``hash % count``.

* ``_M_insert_bucket_begin``: into a non-empty bucket the node goes right after the bucket's
  before-node (first of its bucket); into an empty bucket it goes at the very front of the list,
  and the bucket that used to be at the front now has the new node as its before-node.
* ``_M_rehash_aux`` (unique keys) walks the old list in order and re-inserts each node by the same
  two rules into the new bucket array.
* ``_M_erase`` unlinks the node; if it was its bucket's first node and the bucket empties, the next
  node's bucket inherits the before-node (and ``_M_before_begin`` is repointed if needed).
* ``operator[]`` on an existing key only returns the node; a node never moves except by rehash.

**The growth policy** (``_Prime_rehash_policy``, ``src/c++11/hashtable_c++0x.cc``).  These two
functions are not inlined: Node imports ``_M_need_rehash`` and ``_M_next_bkt`` from the system
``libstdc++.so.6`` at run time (``objdump -T``), so the order follows the *host's* libstdc++.  The
reference host has ``libstdc++.so.6.0.30`` (GCC 12), whose machine code is the GCC 11+ policy
modelled here (the same as gcc-mirror/gcc's current ``hashtable_c++0x.cc``):

* a default-constructed map has 1 bucket and ``_M_next_resize == 0``;
* ``_M_need_rehash(n_bkt, n_elt, n_ins)``: when ``n_elt + n_ins > _M_next_resize``, take
  ``min_bkts = max(n_elt + n_ins, 11 if _M_next_resize == 0 else 0) / max_load_factor``; if
  ``min_bkts >= n_bkt`` grow to ``_M_next_bkt(max(floor(min_bkts) + 1, 2 * n_bkt))``, otherwise set
  ``_M_next_resize = floor(n_bkt * max_load_factor)``;
* ``_M_next_bkt(n)``: below 14 a fast table ``2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13``
  (``n == 0`` gives 1), else the first of ``__prime_list`` (from its seventh entry) that is ``>= n``;
  ``_M_next_resize`` becomes ``floor(bucket count * max_load_factor)``.

With ``max_load_factor`` 1.0 the first insert makes 13 buckets, then 29, 59, 127, 257, 541, ...
Glibc-based hosts with an older libstdc++ (before GCC 11 the default map started at 11 buckets
with a different threshold) would order differently; this models the reference host.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterator
from typing import Final, Generic, TypeVar

__all__ = ["UnorderedMap", "node_ip_hash"]

_M64: Final = (1 << 64) - 1
_SECRET: Final = 0x8BB84B93962EACC9
_FINAL: Final = 0xAAAAAAAAAAAAAAAA


def _fold(a: int, b: int) -> int:
    """The 128-bit product of two 64-bit words, low half xor high half."""
    product = a * b
    return (product & _M64) ^ (product >> 64)


def node_ip_hash(family: int, value: int) -> int:  # node: SocketAddress::IpHash::operator()
    """Node's IpHash of an address given as its integer value (32-bit IPv4, 128-bit IPv6)."""
    if family == 4:
        x = int.from_bytes(value.to_bytes(4, "big"), "little")  # s_addr as loaded on x86-64
        product = (x ^ _SECRET) * (x ^ 0x422765567D8FBFD2)
        return _fold((product & _M64) ^ _FINAL, (product >> 64) ^ 0x8BB84B93962EACCD)
    raw = value.to_bytes(16, "big")
    a = int.from_bytes(raw[:8], "little")
    b = int.from_bytes(raw[8:], "little")
    product = (a ^ _SECRET) * (b ^ 0x422765567D8FBFC6)
    return _fold((product & _M64) ^ _FINAL, (product >> 64) ^ 0x8BB84B93962EACD9)


# libstdc++ __prime_list for 64-bit longs (src/shared/hashtable-aux.cc), without its sentinel;
# checked against the __prime_list exported by libstdc++.so.6.0.30.
# fmt: off
_PRIMES: Final[tuple[int, ...]] = (
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 103,
    109, 113, 127, 137, 139, 149, 157, 167, 179, 193, 199, 211, 227, 241, 257, 277, 293, 313, 337, 359,
    383, 409, 439, 467, 503, 541, 577, 619, 661, 709, 761, 823, 887, 953, 1031, 1109, 1193, 1289, 1381,
    1493, 1613, 1741, 1879, 2029, 2179, 2357, 2549, 2753, 2971, 3209, 3469, 3739, 4027, 4349, 4703,
    5087, 5503, 5953, 6427, 6949, 7517, 8123, 8783, 9497, 10273, 11113, 12011, 12983, 14033, 15173,
    16411, 17749, 19183, 20753, 22447, 24281, 26267, 28411, 30727, 33223, 35933, 38873, 42043, 45481,
    49201, 53201, 57557, 62233, 67307, 72817, 78779, 85229, 92203, 99733, 107897, 116731, 126271,
    136607, 147793, 159871, 172933, 187091, 202409, 218971, 236897, 256279, 277261, 299951, 324503,
    351061, 379787, 410857, 444487, 480881, 520241, 562841, 608903, 658753, 712697, 771049, 834181,
    902483, 976369, 1056323, 1142821, 1236397, 1337629, 1447153, 1565659, 1693859, 1832561, 1982627,
    2144977, 2320627, 2510653, 2716249, 2938679, 3179303, 3439651, 3721303, 4026031, 4355707, 4712381,
    5098259, 5515729, 5967347, 6456007, 6984629, 7556579, 8175383, 8844859, 9569143, 10352717, 11200489,
    12117689, 13109983, 14183539, 15345007, 16601593, 17961079, 19431899, 21023161, 22744717, 24607243,
    26622317, 28802401, 31160981, 33712729, 36473443, 39460231, 42691603, 46187573, 49969847, 54061849,
    58488943, 63278561, 68460391, 74066549, 80131819, 86693767, 93793069, 101473717, 109783337,
    118773397, 128499677, 139022417, 150406843, 162723577, 176048909, 190465427, 206062531, 222936881,
    241193053, 260944219, 282312799, 305431229, 330442829, 357502601, 386778277, 418451333, 452718089,
    489790921, 529899637, 573292817, 620239453, 671030513, 725980837, 785430967, 849749479, 919334987,
    994618837, 1076067617, 1164186217, 1259520799, 1362662261, 1474249943, 1594975441, 1725587117,
    1866894511, 2019773507, 2185171673, 2364114217, 2557710269, 2767159799, 2993761039, 3238918481,
    3504151727, 3791104843, 4101556399, 4294967291, 6442450933, 8589934583, 12884901857, 17179869143,
    25769803693, 34359738337, 51539607367, 68719476731, 103079215087, 137438953447, 206158430123,
    274877906899, 412316860387, 549755813881, 824633720731, 1099511627689, 1649267441579, 2199023255531,
    3298534883309, 4398046511093, 6597069766607, 8796093022151, 13194139533241, 17592186044399,
    26388279066581, 35184372088777, 52776558133177, 70368744177643, 105553116266399, 140737488355213,
    211106232532861, 281474976710597, 562949953421231, 1125899906842597, 2251799813685119,
    4503599627370449, 9007199254740881, 18014398509481951, 36028797018963913, 72057594037927931,
    144115188075855859, 288230376151711717, 576460752303423433, 1152921504606846883,
    2305843009213693951, 4611686018427387847, 9223372036854775783, 18446744073709551557,
)
# fmt: on
_FAST_BKT: Final = (2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13)
_SIZE_MAX: Final = _M64


class _PrimeRehashPolicy:  # node: std::__detail::_Prime_rehash_policy (max_load_factor 1.0)
    __slots__ = ("next_resize",)

    def __init__(self) -> None:
        self.next_resize = 0

    def next_bkt(self, n: int) -> int:  # _M_next_bkt
        if n < len(_FAST_BKT):
            if n == 0:
                return 1
            self.next_resize = _FAST_BKT[n]  # floor(fast * 1.0)
            return _FAST_BKT[n]
        last = len(_PRIMES) - 1  # the last prime is only ever a past-the-end answer
        i = bisect.bisect_left(_PRIMES, n, 6, last)
        self.next_resize = _SIZE_MAX if i == last else _PRIMES[i]
        return _PRIMES[i]

    def need_rehash(self, n_bkt: int, n_elt: int, n_ins: int) -> int | None:  # _M_need_rehash
        """The new bucket count, or None to keep the current one."""
        if n_elt + n_ins > self.next_resize:
            min_bkts = max(n_elt + n_ins, 0 if self.next_resize else 11)  # / 1.0, exact
            if min_bkts >= n_bkt:
                return self.next_bkt(max(min_bkts + 1, n_bkt * 2))
            self.next_resize = n_bkt
        return None


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Node(Generic[K, V]):  # node: std::__detail::_Hash_node (hash code cached)
    __slots__ = ("code", "key", "next", "value")

    def __init__(self, key: K, value: V, code: int) -> None:
        self.next: _Node[K, V] | None = None
        self.key = key
        self.value = value
        self.code = code


class UnorderedMap(Generic[K, V]):
    """A default-constructed libstdc++ ``std::unordered_map`` with unique keys, as far as order goes.

    Keys compare with ``==``; ``hash`` plays the map's hasher.  Only what Node's address map uses is
    here: ``operator[]`` assignment (``set``), ``find`` (``get``), erase by key, ``clear`` and
    iteration from ``begin()``.
    """

    __slots__ = ("_before_begin", "_bucket_count", "_buckets", "_count", "_hash", "_policy")

    def __init__(self, hash: Callable[[K], int]) -> None:
        self._hash = hash
        self._policy = _PrimeRehashPolicy()
        self._bucket_count = 1
        self._buckets: list[_Node[K, V] | None] = [None]
        # _M_before_begin: a node whose ``next`` is the list head (its key/value are never read).
        self._before_begin: _Node[K, V] = _Node.__new__(_Node)
        self._before_begin.next = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: K) -> bool:
        return self._find_before(key, self._hash(key) & _M64) is not None

    @property
    def bucket_count(self) -> int:
        return self._bucket_count

    def _index(self, code: int) -> int:  # _M_bucket_index (_Mod_range_hashing)
        return code % self._bucket_count

    def _find_before(self, key: K, code: int) -> _Node[K, V] | None:  # _M_find_before_node
        bkt = self._index(code)
        prev = self._buckets[bkt]
        if prev is None:
            return None
        p = prev.next
        while p is not None:
            if p.code == code and p.key == key:
                return prev
            if p.next is None or self._index(p.next.code) != bkt:
                return None
            prev, p = p, p.next
        return None

    def get(self, key: K) -> V | None:  # find
        prev = self._find_before(key, self._hash(key) & _M64)
        if prev is None or prev.next is None:
            return None
        return prev.next.value

    def set(self, key: K, value: V) -> None:  # operator[](key) = value
        code = self._hash(key) & _M64
        prev = self._find_before(key, code)
        if prev is not None and prev.next is not None:
            prev.next.value = value  # an existing node keeps its place
            return
        node = _Node(key, value, code)
        new_count = self._policy.need_rehash(self._bucket_count, self._count, 1)  # _M_insert_unique_node
        if new_count is not None:
            self._rehash(new_count)
        self._insert_bucket_begin(self._index(code), node)
        self._count += 1

    def _insert_bucket_begin(self, bkt: int, node: _Node[K, V]) -> None:  # _M_insert_bucket_begin
        before = self._buckets[bkt]
        if before is not None:
            node.next = before.next
            before.next = node
            return
        node.next = self._before_begin.next
        self._before_begin.next = node
        if node.next is not None:
            self._buckets[self._index(node.next.code)] = node
        self._buckets[bkt] = self._before_begin

    def _rehash(self, bucket_count: int) -> None:  # _M_rehash_aux (unique keys)
        buckets: list[_Node[K, V] | None] = [None] * bucket_count
        p = self._before_begin.next
        self._before_begin.next = None
        bbegin_bkt = 0
        while p is not None:
            following = p.next
            bkt = p.code % bucket_count
            before = buckets[bkt]
            if before is None:
                p.next = self._before_begin.next
                self._before_begin.next = p
                buckets[bkt] = self._before_begin
                if p.next is not None:
                    buckets[bbegin_bkt] = p
                bbegin_bkt = bkt
            else:
                p.next = before.next
                before.next = p
            p = following
        self._buckets = buckets
        self._bucket_count = bucket_count

    def erase(self, key: K) -> int:  # erase(const key_type&)
        code = self._hash(key) & _M64
        prev = self._find_before(key, code)
        if prev is None or prev.next is None:
            return 0
        node = prev.next
        bkt = self._index(code)
        following = node.next
        if prev is self._buckets[bkt]:  # _M_remove_bucket_begin
            next_bkt = self._index(following.code) if following is not None else 0
            if following is None or next_bkt != bkt:
                if following is not None:
                    self._buckets[next_bkt] = self._buckets[bkt]
                if self._buckets[bkt] is self._before_begin:
                    self._before_begin.next = following
                self._buckets[bkt] = None
        elif following is not None:
            next_bkt = self._index(following.code)
            if next_bkt != bkt:
                self._buckets[next_bkt] = prev
        prev.next = following
        self._count -= 1
        return 1

    def clear(self) -> None:  # clear: nodes go, the bucket array and the policy stay
        self._buckets = [None] * self._bucket_count
        self._before_begin.next = None
        self._count = 0

    def items(self) -> Iterator[tuple[K, V]]:  # begin() .. end()
        p = self._before_begin.next
        while p is not None:
            yield p.key, p.value
            p = p.next
