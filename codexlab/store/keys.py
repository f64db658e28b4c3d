"""The chain key that seals each run's anchor (HMAC-SHA256), kept outside the store, and the head witness.

The key comes from `$CODEXLAB_CHAIN_KEY` (hex, at least 16 bytes) or from `<home>/keys/chain.key`, a
file created on first use with 32 random bytes in a folder only its owner may open (0700 / 0600). A
key file that other users can read is refused. Whoever can write the store but not read the key can
neither forge an anchor nor re-seal an edited run.

The head witness (`<home>/keys/heads/<store>.json`) remembers the newest anchor this home has seen in
a store, so that deleting the newest runs together with their anchors is found too.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

from codexlab.errors import CodexConfigError, StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the witness is written without a lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ENV_KEY",
    "KEY_DIR",
    "KEY_FILE",
    "ChainKey",
    "HeadWitness",
    "default_home",
    "load_chain_key",
    "new_key_text",
]

ENV_KEY = "CODEXLAB_CHAIN_KEY"
KEY_DIR = "keys"
KEY_FILE = "chain.key"
_MIN_KEY_BYTES = 16
_KEY_BYTES = 32
_KEY_ID_LABEL = b"codexlab chain key id"
_POSIX = os.name == "posix"


def default_home() -> Path:
    """`$CODEXLAB_HOME`, else `./.codexlab`."""
    return Path(os.environ.get("CODEXLAB_HOME") or ".codexlab")


@dataclass(frozen=True)
class ChainKey:
    """An HMAC key, its public id (so a store can say which key sealed it) and where it came from."""

    secret: bytes
    source: str

    @property
    def key_id(self) -> str:
        """16 hex digits that name the key without revealing it."""
        return hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def mac(self, message: bytes) -> str:
        """HMAC-SHA256 hex of `message`."""
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never print the secret
        return f"ChainKey(key_id={self.key_id!r}, source={self.source!r})"


def new_key_text() -> str:
    """A fresh key as the hex text a key file or `$CODEXLAB_CHAIN_KEY` holds."""
    return secrets.token_hex(_KEY_BYTES)


def load_chain_key(home: Path | None) -> ChainKey:
    """The chain key: `$CODEXLAB_CHAIN_KEY`, else `<home>/keys/chain.key` (created on first use).

    Args:
        home: the codexlab home whose `keys/` folder holds the key; None only for a store that lives in
            memory, which gets a key for this process alone.
    Raises:
        CodexConfigError: the variable is not hex of at least 16 bytes, or the key file is malformed or
            readable by other users.
    """
    text = os.environ.get(ENV_KEY)
    if text is not None:
        return ChainKey(_parse_hex(text.strip(), f"`${ENV_KEY}`"), f"${ENV_KEY}")
    if home is None:
        return ChainKey(secrets.token_bytes(_KEY_BYTES), "this process (an in-memory store)")
    folder = _key_folder(home)
    path = folder / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    _check_private(path)
    try:
        content = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise CodexConfigError(f"The chain key `{path}` cannot be read ({err}); restore it from a backup.") from err
    return ChainKey(_parse_hex(content, f"`{path}`"), str(path))


def _parse_hex(text: str, where: str) -> bytes:
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < _MIN_KEY_BYTES:
        raise CodexConfigError(
            f"{where} should hold a key of at least {_MIN_KEY_BYTES} bytes as hex digits; make one with "
            '`python -c "import secrets; print(secrets.token_hex(32))"`.'
        )
    return secret


def _key_folder(home: Path) -> Path:
    """`<home>/keys`, created owner-only; an existing one open to others is refused."""
    folder = home / KEY_DIR
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise CodexConfigError(
            f"Could not create the key folder `{folder}` ({err}); set `${ENV_KEY}` or fix the home's permissions."
        ) from err
    _check_private(folder)
    return folder


def _create_key_file(path: Path) -> None:
    """Write a new key atomically: a whole file appears under its name, or none (a racing process wins)."""
    tmp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (new_key_text() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process made the key first: use theirs
    finally:
        tmp.unlink()


def _check_private(path: Path) -> None:
    """Refuse a key file or folder that other users may read (owner-only is required on POSIX)."""
    if not _POSIX:
        return
    info = path.stat()
    if info.st_mode & 0o077 or info.st_uid != os.getuid():
        mode = stat.S_IMODE(info.st_mode)
        fix = "chmod 600" if path.is_file() else "chmod 700"
        raise CodexConfigError(
            f"`{path}` is open to other users (mode {mode:o}, owner uid {info.st_uid}); the chain key must be "
            f"private: run `{fix} {path}` as its owner."
        )


@dataclass(frozen=True)
class HeadWitness:
    """The newest anchor (`seq`, `mac`) this home has seen in one store, kept beside the key."""

    path: Path | None

    @classmethod
    def for_store(cls, home: Path | None, identity: str) -> HeadWitness:
        """The witness of the store named `identity` (its URL) under `<home>/keys/heads/`."""
        if home is None:
            return cls(None)
        name = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]
        return cls(home / KEY_DIR / "heads" / f"{name}.json")

    def read(self) -> tuple[int, str] | None:
        """(seq, mac) of the newest anchor seen, or None when nothing was recorded."""
        if self.path is None:
            return None
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise StoreError(f"The head witness `{self.path}` cannot be read ({err}).") from err
        return _parse_witness(data, self.path)

    def advance(self, seq: int, mac: str) -> None:
        """Record a newer anchor (never an older one); written after its transaction committed.

        A witness that cannot be written only lags (the newest runs are then less protected), so the
        failure is a warning: the beams are committed already.
        """
        if self.path is None:
            return
        try:
            self._write_newer(seq, mac)
        except (OSError, StoreError) as err:
            warnings.warn(
                f"Could not record anchor #{seq} in the head witness `{self.path}` ({err}); the beams are stored, "
                "but deleting the newest runs with their anchors may go unnoticed until it is written again.",
                RuntimeWarning,
                stacklevel=3,
            )

    def _write_newer(self, seq: int, mac: str) -> None:
        """Overwrite the record in place under an exclusive lock, unless it already holds a newer anchor.

        One small fixed-size write instead of write-and-rename: renaming costs milliseconds on some file
        systems, and this runs after every persist.
        """
        assert self.path is not None
        self._prepare()
        record = json.dumps({"seq": seq, "mac": mac}).encode("ascii").ljust(_WITNESS_BYTES - 1) + b"\n"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            current = _parse_witness(os.pread(fd, _WITNESS_BYTES * 2, 0), self.path)
            if current is None or current[0] < seq:
                os.pwrite(fd, record, 0)
                os.ftruncate(fd, len(record))
        finally:
            os.close(fd)  # closing releases the lock

    def _prepare(self) -> None:
        """`keys/heads/` exists, owner-only (checked once per process and folder)."""
        assert self.path is not None
        folder = self.path.parent
        if folder in _PREPARED:
            return
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # `keys/`: owner-only
        folder.mkdir(mode=0o700, exist_ok=True)
        _PREPARED.add(folder)

    def reset(self) -> None:
        """Forget the store's head: it was created afresh (an empty store has no anchors to miss)."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


_WITNESS_BYTES = 128  # one fixed-size record: `{"seq": …, "mac": …}`, space-padded, newline-ended
_PREPARED: set[Path] = set()


def _parse_witness(data: bytes, path: Path) -> tuple[int, str] | None:
    """(seq, mac) from a witness record; None for an empty (new) file."""
    if not data.strip():
        return None
    try:
        record = json.loads(data)
        return int(record["seq"]), str(record["mac"])
    except (ValueError, KeyError, TypeError) as err:
        raise StoreError(
            f"The head witness `{path}` is unreadable ({err}); delete it if the store is intact "
            "(`codexlab verify` then cannot tell whether the newest runs were deleted)."
        ) from err
