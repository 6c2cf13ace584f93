"""The products (packages) and images the demo data set is built from.

Field values follow the vendor SDK's ``ProductInfo`` and the image fields of ``SimpleDesktopPoolInfo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Product:
    """A desktop package: its id, flavor and size (strings, as the API sends them; memory in MiB)."""

    product_id: str
    flavor_id: str
    cpu: str
    memory: str
    descriptions: str
    is_gpu: bool = False

    def to_api(self, disk_type: str, disk_size: int, charge_mode: str = "1") -> dict[str, Any]:
        """``ProductInfo``; ``charge_mode`` 0 is a yearly/monthly package, 1 on demand."""
        return {
            "product_id": self.product_id,
            "flavor_id": self.flavor_id,
            "type": "BASE",
            "cpu": self.cpu,
            "memory": self.memory,
            "descriptions": self.descriptions,
            "charge_mode": charge_mode,
            "architecture": "x86",
            "is_gpu": self.is_gpu,
            "package_type": "general",
            "system_disk_type": disk_type,
            "system_disk_size": str(disk_size),
            "contain_data_disk": False,
            "resource_type": "hws.resource.type.workspace.desktop",
            "cloud_service_type": "hws.service.type.vdi",
            "volume_product_type": "workspace",
            "status": "normal",
        }


@dataclass(frozen=True)
class Image:
    """A desktop image: id, name and the OS fields a pool shows."""

    image_id: str
    image_name: str
    os_type: str
    os_version: str
    os_platform: str

    def to_api(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "image_name": self.image_name,
            "image_os_type": self.os_type,
            "image_os_version": self.os_version,
            "image_os_platform": self.os_platform,
            "image_product_code": "",
            "image_cloud_service_type": "hws.service.type.ims",
            "image_resource_type": "hws.resource.type.marketplace.image",
        }


def _product(pid: str, flavor: str, cpu: int, gib: int, *, gpu: bool = False) -> Product:
    # memory in MiB, as the vendor's reference example has it ("4096" for 4 GiB)
    return Product(pid, flavor, str(cpu), str(gib * 1024), f"{cpu} vCPUs | {gib} GiB", is_gpu=gpu)


PRODUCTS: dict[str, Product] = {
    p.product_id: p
    for p in (
        _product("workspace.x86.general.large2", "s6.large.2", 2, 4),
        _product("workspace.x86.general.xlarge2", "s6.xlarge.2", 4, 8),
        _product("workspace.x86.general.2xlarge2", "s6.2xlarge.2", 8, 16),
        _product("workspace.x86.ultimate.xlarge4", "c7.xlarge.4", 4, 16),
        _product("workspace.x86.ultimate.2xlarge4", "c7.2xlarge.4", 8, 32),
        _product("workspace.x86.gpu.g6.2xlarge4", "g6.2xlarge.4", 8, 32, gpu=True),
        _product("workspace.x86.gpu.g6.xlarge4", "g6.xlarge.4", 4, 16, gpu=True),
    )
}

#: Package a drifted desktop has instead of its pool's (a resize that was never reverted).
PRODUCT_DRIFT: dict[str, str] = {
    "workspace.x86.general.large2": "workspace.x86.general.xlarge2",
    "workspace.x86.general.xlarge2": "workspace.x86.general.2xlarge2",
    "workspace.x86.general.2xlarge2": "workspace.x86.general.xlarge2",
    "workspace.x86.ultimate.xlarge4": "workspace.x86.ultimate.2xlarge4",
    "workspace.x86.ultimate.2xlarge4": "workspace.x86.ultimate.xlarge4",
    "workspace.x86.gpu.g6.2xlarge4": "workspace.x86.gpu.g6.xlarge4",
    "workspace.x86.gpu.g6.xlarge4": "workspace.x86.gpu.g6.2xlarge4",
}

IMAGES: dict[str, Image] = {
    i.image_id: i
    for i in (
        Image(
            "6f1b3c2e-0a4d-4f7e-9b1a-2c3d4e5f6a71",
            "Windows11_23H2_Enterprise_x64_2024.06",
            "Windows",
            "Windows 11 Enterprise 23H2",
            "Windows",
        ),
        Image(
            "0e2a9d41-7c55-4b8e-a3f2-91d0c4b7e612",
            "Windows11_23H2_Enterprise_x64_2024.01",
            "Windows",
            "Windows 11 Enterprise 23H2",
            "Windows",
        ),
        Image(
            "a7c4e9f0-3b21-4d6a-8e5f-0c9b8a7d6e53",
            "Windows10_22H2_Enterprise_x64_2024.05",
            "Windows",
            "Windows 10 Enterprise 22H2",
            "Windows",
        ),
        Image(
            "51d8b2a6-9e04-4c3f-b7a1-e2f3d4c5b694",
            "Windows10_22H2_Enterprise_x64_2023.11",
            "Windows",
            "Windows 10 Enterprise 22H2",
            "Windows",
        ),
        Image(
            "c3e5a7b9-1d2f-4a6c-9e8b-7f6a5d4c3b25",
            "Ubuntu22.04_Desktop_x64_2024.04",
            "Linux",
            "Ubuntu 22.04",
            "Ubuntu",
        ),
        Image(
            "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c36",
            "Ubuntu22.04_Desktop_x64_2023.10",
            "Linux",
            "Ubuntu 22.04",
            "Ubuntu",
        ),
        Image(
            "2d4f6a8c-0e1b-4c3d-a5e7-f9b1c3d5e747",
            "Ubuntu20.04_Desktop_x64_2023.08",
            "Linux",
            "Ubuntu 20.04",
            "Ubuntu",
        ),
        Image(
            "e8f7a6b5-c4d3-4e2f-9a1b-0c9d8e7f6a58",
            "Ubuntu20.04_Desktop_x64_2022.12",
            "Linux",
            "Ubuntu 20.04",
            "Ubuntu",
        ),
    )
}

#: Image a drifted desktop still runs instead of its pool's (it missed the last rebuild).
IMAGE_DRIFT: dict[str, str] = {
    "6f1b3c2e-0a4d-4f7e-9b1a-2c3d4e5f6a71": "0e2a9d41-7c55-4b8e-a3f2-91d0c4b7e612",
    "0e2a9d41-7c55-4b8e-a3f2-91d0c4b7e612": "6f1b3c2e-0a4d-4f7e-9b1a-2c3d4e5f6a71",
    "a7c4e9f0-3b21-4d6a-8e5f-0c9b8a7d6e53": "51d8b2a6-9e04-4c3f-b7a1-e2f3d4c5b694",
    "51d8b2a6-9e04-4c3f-b7a1-e2f3d4c5b694": "a7c4e9f0-3b21-4d6a-8e5f-0c9b8a7d6e53",
    "c3e5a7b9-1d2f-4a6c-9e8b-7f6a5d4c3b25": "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c36",
    "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c36": "c3e5a7b9-1d2f-4a6c-9e8b-7f6a5d4c3b25",
    "2d4f6a8c-0e1b-4c3d-a5e7-f9b1c3d5e747": "e8f7a6b5-c4d3-4e2f-9a1b-0c9d8e7f6a58",
    "e8f7a6b5-c4d3-4e2f-9a1b-0c9d8e7f6a58": "2d4f6a8c-0e1b-4c3d-a5e7-f9b1c3d5e747",
}

WIN11 = "6f1b3c2e-0a4d-4f7e-9b1a-2c3d4e5f6a71"
WIN10 = "a7c4e9f0-3b21-4d6a-8e5f-0c9b8a7d6e53"
UBUNTU22 = "c3e5a7b9-1d2f-4a6c-9e8b-7f6a5d4c3b25"
UBUNTU20 = "2d4f6a8c-0e1b-4c3d-a5e7-f9b1c3d5e747"


def product(product_id: str) -> Product:
    """A known product, or a plausible stand-in for one a test made up."""
    found = PRODUCTS.get(product_id)
    return found if found is not None else Product(product_id, "", "", "", "")


def image(image_id: str) -> Image:
    found = IMAGES.get(image_id)
    return found if found is not None else Image(image_id, "", "", "", "")
