"""The busybox image moto needs is a static binary with applet links, never applets over the binary."""

import io
import tarfile
from pathlib import Path

from delivery_tools.localcloud.images.busybox import busybox_tar


def test_the_busybox_image_keeps_the_binary_and_links_the_applets(tmp_path: Path) -> None:
    binary = tmp_path / "busybox"
    binary.write_bytes(b"\x7fELF static busybox")
    with tarfile.open(fileobj=io.BytesIO(busybox_tar(binary))) as archive:
        members = {member.name: member for member in archive.getmembers()}
        assert members["bin/busybox"].isfile()
        assert archive.extractfile("bin/busybox").read() == b"\x7fELF static busybox"  # type: ignore[union-attr]
        assert members["bin/sleep"].issym() and members["bin/sleep"].linkname == "busybox"
