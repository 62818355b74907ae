"""Loading the scheme and directory files (bundled by default)."""

from __future__ import annotations

import errno
from importlib import resources
from pathlib import Path

from scoring_core.directory import Directory
from scoring_core.directory_file import parse_directory
from scoring_core.errors import ConfigError
from scoring_core.scheme import Scheme
from scoring_core.scheme_file import parse_scheme

BUNDLED_SCHEME = "scheme-2020-nanchang.yaml"
BUNDLED_DIRECTORY = "sample-directory.yaml"


def _bundled(name: str) -> tuple[str, str]:
    resource = resources.files("scoring_core") / "data" / name
    return resource.read_text(encoding="utf-8"), f"(内置){name}"


_OS_REASONS = {
    errno.ENOENT: "文件或文件夹不存在",
    errno.EACCES: "没有读写权限",
    errno.EPERM: "没有读写权限",
    errno.EISDIR: "这是一个文件夹，不是文件",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.ENOSPC: "磁盘已满",
    errno.EROFS: "磁盘只读",
}


def os_reason(exc: OSError) -> str:
    """Why a file could not be read or written, in Chinese (strerror is English)."""
    return _OS_REASONS.get(exc.errno or 0, exc.strerror or "系统错误")


def read_text(path: Path, what: str) -> str:
    """A config file's text, or a ConfigError saying which file and why."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"找不到{what}文件：{path}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what}文件不是 UTF-8 编码：{path}") from exc
    except OSError as exc:
        raise ConfigError(f"无法读取{what}文件 {path}：{os_reason(exc)}") from exc


def scheme_source(path: Path | None = None) -> tuple[str, str]:
    """The scheme file's text and a name for it (rounds are tied to a hash of the text)."""
    return _bundled(BUNDLED_SCHEME) if path is None else (read_text(path, "考核方案"), str(path))


def load_scheme(path: Path | None = None) -> Scheme:
    return parse_scheme(*scheme_source(path))


def load_directory(scheme: Scheme, path: Path | None = None) -> Directory:
    text, source = _bundled(BUNDLED_DIRECTORY) if path is None else (read_text(path, "名录"), str(path))
    return parse_directory(text, scheme, source)
