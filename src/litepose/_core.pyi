"""
litepose native core
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['LayerTiming', 'MODEL_FORMAT_VERSION', 'ModelError', 'ModelInfo', 'Network', 'PoseEstimator', 'available_isas', 'coco_flip_index', 'compiled_isas', 'compiler', 'cpu_info', 'crowdpose_flip_index', 'decode', 'default_num_threads', 'joint_order', 'last_decode_timings', 'munkres', 'nms_topk', 'plan_preprocess', 'preprocess', 'read_model', 'serialize_model', 'upsample2x', 'validate_model_bytes']
class ModelError(ValueError):
    pass
class ModelInfo:
    @property
    def arch(self) -> str:
        ...
    @property
    def dataset(self) -> str:
        ...
    @property
    def deconv(self) -> list[int]:
        ...
    @property
    def format_version(self) -> int:
        ...
    @property
    def input_channel(self) -> int:
        ...
    @property
    def input_size(self) -> int:
        ...
    @property
    def num_joints(self) -> int:
        ...
class LayerTiming:
    @property
    def in_shape(self) -> list[int]:
        ...
    @property
    def kernel(self) -> str:
        ...
    @property
    def macs(self) -> float:
        ...
    @property
    def ms(self) -> float:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def op(self) -> str:
        ...
    @property
    def out_shape(self) -> list[int]:
        ...
    @property
    def spans(self) -> list:
        ...
    @property
    def start_ms(self) -> float:
        ...
class Network:
    @staticmethod
    def from_bytes(data: bytes, num_threads: typing.SupportsInt | typing.SupportsIndex = 0, isa: str = '', fuse: str = '', pin_threads: str = '') -> Network:
        ...
    def __init__(self, path: str, num_threads: typing.SupportsInt | typing.SupportsIndex = 0, isa: str = '', fuse: str = '', pin_threads: str = '') -> None:
        ...
    def activation_bytes(self, arg0: typing.SupportsInt | typing.SupportsIndex, arg1: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def forward(self, x: typing.Any) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
        ...
    def kernels(self) -> list[tuple[str, str]]:
        ...
    def last_timings(self) -> list[LayerTiming]:
        ...
    def set_profiling(self, arg0: bool) -> None:
        ...
    def wake(self, max_ms: typing.SupportsFloat | typing.SupportsIndex = 10.0) -> None:
        ...
    @property
    def info(self) -> ModelInfo:
        ...
    @property
    def isa(self) -> str:
        ...
    @property
    def num_threads(self) -> int:
        ...
    @num_threads.setter
    def num_threads(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def pinned_cpus(self) -> list[int]:
        ...
class PoseEstimator:
    def __call__(self, image: typing.Any, rgb: bool = False) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
        """
        image (H, W, 3) uint8 -> (keypoints float32 [N, K, 3] in image pixels, scores [N]).
        """
    def __init__(self, network_or_path: typing.Any, flip: bool = False, input_size: typing.SupportsInt | typing.SupportsIndex = 0, dataset: str = '', num_threads: typing.SupportsInt | typing.SupportsIndex = 0, max_num_people: typing.SupportsInt | typing.SupportsIndex = 30, detection_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.10000000149011612, tag_threshold: typing.SupportsFloat | typing.SupportsIndex = 1.0, adjust: bool = True, refine: bool = True, project_to_input: bool = True) -> None:
        ...
    @property
    def dataset(self) -> str:
        ...
    @property
    def flip(self) -> bool:
        ...
    @property
    def input_size(self) -> int:
        ...
    @property
    def network(self) -> Network:
        ...
    @property
    def num_joints(self) -> int:
        ...
def available_isas() -> list[str]:
    ...
def coco_flip_index() -> list[int]:
    ...
def compiled_isas() -> list[str]:
    ...
def compiler() -> dict:
    ...
def cpu_info() -> dict:
    ...
def crowdpose_flip_index() -> list[int]:
    ...
def decode(out4: typing.Any, out2: typing.Any, out4_flip: typing.Any = None, out2_flip: typing.Any = None, dataset: str = 'crowdpose', to_image: typing.Any = None, max_num_people: typing.SupportsInt | typing.SupportsIndex = 30, detection_threshold: typing.SupportsFloat | typing.SupportsIndex = 0.10000000149011612, tag_threshold: typing.SupportsFloat | typing.SupportsIndex = 1.0, use_detection_val: bool = True, ignore_too_much: bool = False, nms_kernel: typing.SupportsInt | typing.SupportsIndex = 5, adjust: bool = True, refine: bool = True, project_to_input: bool = True, with_tags: bool = False) -> tuple:
    """
    Official LitePose decoding of one image's outputs -> (joints float32 [P, K, 3 (+D tags)], scores float32 [P]); coordinates in input pixels, or image pixels with to_image.
    """
def default_num_threads() -> int:
    ...
def joint_order(num_joints: typing.SupportsInt | typing.SupportsIndex) -> list[int]:
    ...
def last_decode_timings() -> dict:
    """
    ms per step of the last decode on this thread: merge, peaks, matching, adjust, refine, mapping
    """
def munkres(cost: typing.Any) -> list[tuple[int, int]]:
    """
    munkres 1.1.4 Munkres.compute replica: -> [(row, col), ...].
    """
def nms_topk(det: typing.Any, kernel: typing.SupportsInt | typing.SupportsIndex = 5, k: typing.SupportsInt | typing.SupportsIndex = 30) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.int32]]:
    """
    Max-pool NMS then top-k (torch order): -> (values [k], flat indices [k]).
    """
def plan_preprocess(image_h: typing.SupportsInt | typing.SupportsIndex, image_w: typing.SupportsInt | typing.SupportsIndex, input_size: typing.SupportsInt | typing.SupportsIndex) -> dict:
    """
    Official get_multi_scale_size + get_affine_transform: dict(size=(W, H), center, scale, to_input, to_image).
    """
def preprocess(image: typing.Any, input_size: typing.SupportsInt | typing.SupportsIndex, rgb: bool = False) -> tuple[numpy.typing.NDArray[numpy.float32], dict]:
    """
    image (H, W, 3) uint8 BGR (rgb=False) -> (x float32 [3, Hin, Win], info dict).
    """
def read_model(path: str) -> tuple[dict[str, str], dict]:
    ...
def serialize_model(meta: collections.abc.Mapping[str, str], tensors: dict) -> bytes:
    ...
def upsample2x(x: typing.Any) -> numpy.typing.NDArray[numpy.float32]:
    """
    torch-exact bilinear x2 (align_corners=False): (C, H, W) -> (C, 2H, 2W).
    """
def validate_model_bytes(data: bytes, what: str = '<memory>') -> dict[str, str]:
    ...
MODEL_FORMAT_VERSION: int = 1
__version__: str = '0.1.0'
