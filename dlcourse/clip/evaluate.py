"""Evaluate a CLIP model (Problem 2): retrieval recall, zero-shot accuracy, prompts, retrieval grids.

Retrieval follows the Flickr8K protocol with 5 captions per image (any count works):

* image -> text ("image annotation"): for each of the N test images, rank all M captions; the rank
  of an image is the best rank among its own captions. R@K = fraction of images with rank <= K.
* text -> image ("image search"): each of the M captions queries the N images; its rank is the
  position of its own image.

Zero-shot classification embeds prompts built from the class names (several templates, ensembled)
and assigns each image the nearest class; accuracy is compared with chance (the majority class rate).

Similarity, top-k, the class embeddings and the classifier are homework parts: every function here
takes ``parts`` (:mod:`dlcourse.parts`; default the reference) and uses that code for them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from dlcourse import parts as partslib
from dlcourse.clip import data as clipdata

#: Prompt templates; the default zero-shot classifier ensembles all of them.
TEMPLATES = ("a photo of a {}.", "a picture of a {}.", "there is a {} in the image.", "a {}.")
#: Retrieval-grid prompts per data set (at least two per model).
GRID_PROMPTS = {
    "standin": ("a red sneaker on the left.", "a large white bag in the center.", "a pair of blue trousers."),
    "flickr8k": ("a dog running on the beach", "a child playing in the water", "a man riding a bicycle"),
}


@torch.no_grad()
def embed_images(model, images: torch.Tensor, device, batch_size: int = 256) -> torch.Tensor:
    """uint8 ``(N, 3, S, S)`` -> ``(N, E)`` unit embeddings."""
    model.eval()
    return torch.cat([model.encode_image(clipdata.normalize(images[i:i + batch_size].to(device))).cpu()
                      for i in range(0, len(images), batch_size)])


@torch.no_grad()
def embed_texts(model, texts: list[str], device, batch_size: int = 256) -> torch.Tensor:
    """``M`` strings -> ``(M, E)`` unit embeddings (through the text encoder)."""
    model.eval()
    out = []
    for i in range(0, len(texts), batch_size):
        tok = model.text.tokenize(texts[i:i + batch_size])
        out.append(model.encode_text({k: v.to(device) for k, v in tok.items()}).cpu())
    return torch.cat(out)


@torch.no_grad()
def embed_split_texts(model, split: clipdata.Split, cfg, device, batch_size: int = 256) -> torch.Tensor:
    """The split's captions -> ``(M, E)``; a frozen text encoder's features come from the cache."""
    if not cfg.freeze_text:
        return embed_texts(model, split.texts, device, batch_size)
    model.eval()
    feats = clipdata.text_features(model.text, split.texts)
    return torch.cat([model.encode_text({"features": feats[i:i + batch_size].to(device)}).cpu()
                      for i in range(0, len(feats), batch_size)])


def retrieval_metrics(image_emb: torch.Tensor, text_emb: torch.Tensor, owner: torch.Tensor,
                      ks: tuple[int, ...] = (1, 5, 10), *, parts=None) -> dict[str, float]:
    """Recall@K (in %) and median rank, both directions: ``(N, E), (M, E), (M,) -> dict``."""
    sim = partslib.resolve(parts, "clip").retrieval.similarity(image_emb, text_emb)  # (N, M)
    n, m = sim.shape
    # image -> text: the rank of the best-ranked own caption (1 = first)
    order = sim.argsort(dim=1, descending=True)  # (N, M) caption indices, best first
    own = owner[order] == torch.arange(n)[:, None]  # (N, M) is the caption at that rank one of mine?
    i2t = own.float().argmax(dim=1) + 1
    # text -> image: the rank of the caption's own image among the N images
    own_score = sim[owner, torch.arange(m)]  # (M,)
    t2i = (sim.T > own_score[:, None]).sum(dim=1) + 1
    out = {}
    for name, ranks in (("i2t", i2t), ("t2i", t2i)):
        for k in ks:
            out[f"{name}_R@{k}"] = round(100 * (ranks <= k).float().mean().item(), 2)
        out[f"{name}_medr"] = float(ranks.float().median().item())
    return out


def zero_shot(model, image_emb: torch.Tensor, labels: list[int], class_names, device,
              templates=TEMPLATES, *, parts=None) -> dict[str, float]:
    """Top-1 accuracy (%) of zero-shot classification over the images with a label (``>= 0``)."""
    zs = partslib.resolve(parts, "clip").zeroshot
    y = torch.tensor(labels)
    keep = y >= 0
    if not keep.any():  # e.g. a folder whose captions name none of the keyword classes
        return {"top1": None, "chance": None, "n_images": 0, "n_classes": len(class_names)}
    cls = zs.class_embeddings(lambda t: embed_texts(model, t, device), class_names, templates)
    pred = zs.classify(image_emb[keep], cls)
    counts = torch.bincount(y[keep], minlength=len(class_names))
    return {"top1": round(100 * (pred == y[keep]).float().mean().item(), 2),
            "chance": round(100 * counts.max().item() / max(1, int(keep.sum())), 2),
            "n_images": int(keep.sum()), "n_classes": len(class_names)}


def prompt_comparison(model, image_emb, labels, class_names, device, *, parts=None) -> dict[str, float]:
    """Zero-shot top-1 (%) with each template alone, the bare class name, and the ensemble."""
    out = {"{}": zero_shot(model, image_emb, labels, class_names, device, ("{}",), parts=parts)["top1"]}
    for t in TEMPLATES:
        out[t] = zero_shot(model, image_emb, labels, class_names, device, (t,), parts=parts)["top1"]
    out["ensemble of all templates"] = zero_shot(model, image_emb, labels, class_names, device, parts=parts)["top1"]
    return out


def evaluate(model, split: clipdata.Split, cfg, *, device, quiet: bool = False, parts=None) -> dict:
    """All test metrics of ``model`` on ``split``: retrieval, zero-shot, prompt comparison."""
    image_emb = embed_images(model, split.images, device)
    text_emb = embed_split_texts(model, split, cfg, device)
    labels, names = split.data.labels, split.data.class_names
    results = {"retrieval": retrieval_metrics(image_emb, text_emb, split.owner, parts=parts),
               "zero_shot": zero_shot(model, image_emb, labels, names, device, parts=parts),
               "prompts": prompt_comparison(model, image_emb, labels, names, device, parts=parts),
               "n_test_images": len(split.images), "n_test_captions": len(split.texts)}
    if not quiet:
        r, z = results["retrieval"], results["zero_shot"]
        print(f"  test: image->text R@1/5/10 {r['i2t_R@1']}/{r['i2t_R@5']}/{r['i2t_R@10']}, text->image "
              f"R@1/5/10 {r['t2i_R@1']}/{r['t2i_R@5']}/{r['t2i_R@10']}; zero-shot top-1 {z['top1']}% "
              f"(chance {z['chance']}%)", flush=True)
    return results


def search(model, image_emb: torch.Tensor, prompt: str, k: int, device, *,
           parts=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` images (of embeddings ``image_emb`` ``(N, E)``) closest to ``prompt``: scores ``(k,)``, indices ``(k,)``."""
    top_k = partslib.resolve(parts, "clip").retrieval.top_k
    scores, idx = top_k(embed_texts(model, [prompt], device), image_emb, k)
    return scores[0], idx[0]


def grid_figure(split: clipdata.Split, prompt: str, scores: torch.Tensor, idx: torch.Tensor, title: str = ""):
    """A square grid (3x3 for k=9) of retrieved images with their similarity and first caption."""
    import math

    from matplotlib.figure import Figure

    side = math.ceil(math.sqrt(len(idx)))
    fig = Figure(figsize=(2.2 * side, 2.4 * side))
    axes = fig.subplots(side, side, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, s, i in zip(axes.flat, scores.tolist(), idx.tolist()):
        ax.imshow(split.images[i].permute(1, 2, 0).numpy())
        ax.set_title(f"{s:.2f}: {split.data.captions[i][0][:28]}", fontsize=6)
    fig.suptitle(f"{title}\n\u201c{prompt}\u201d", fontsize=9)
    fig.tight_layout()
    return fig


def save_grids(model, split: clipdata.Split, cfg, out: Path, *, device, k: int = 9, parts=None) -> list[Path]:
    """Retrieval grids for the data set's prompts into ``out/grids/``; returns the PNG paths."""
    paths = []
    image_emb = embed_images(model, split.images, device)
    for j, prompt in enumerate(GRID_PROMPTS[clipdata.kind_of(cfg.data)]):
        scores, idx = search(model, image_emb, prompt, k, device, parts=parts)
        fig = grid_figure(split, prompt, scores, idx, f"{cfg.vision} + {cfg.text} ({split.data.name})")
        path = Path(out) / "grids" / f"prompt{j}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths
