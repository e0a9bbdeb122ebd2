"""Synthetic but realistic model cards at scale (for the search latency benchmark).

Cards combine real task/architecture/language/licence vocabularies with templated
descriptions, so the full-text index sees realistic term frequencies (common words in most
cards, rare identifiers in few) and the dense index sees natural sentences.
"""

from __future__ import annotations

import random
from typing import Any

TASKS = {
    "automatic-speech-recognition": ("speech", "transcribes spoken audio", ["whisper", "wav2vec2",
                                     "conformer", "hubert"]),
    "translation": ("translation", "translates text between languages", ["marian", "t5", "nllb"]),
    "token-classification": ("ner", "tags named entities in text", ["bert", "roberta", "deberta"]),
    "text-classification": ("sentiment", "classifies the sentiment of reviews",
                            ["distilbert", "roberta", "electra"]),
    "summarization": ("summary", "summarises long documents", ["bart", "pegasus", "t5"]),
    "question-answering": ("qa", "answers questions about a passage", ["bert", "xlm-roberta"]),
    "image-classification": ("vision", "recognises objects in photos", ["vit", "resnet",
                             "convnext", "efficientnet"]),
    "object-detection": ("detection", "draws boxes around objects", ["detr", "yolos", "rtdetr"]),
    "image-segmentation": ("segmentation", "labels every pixel", ["segformer", "mask2former"]),
    "text-generation": ("llm", "writes and chats", ["llama", "mistral", "gpt2", "qwen"]),
    "text-to-speech": ("tts", "reads text aloud", ["vits", "fastspeech2"]),
    "feature-extraction": ("embeddings", "embeds sentences for retrieval", ["minilm", "e5",
                           "bge"]),
    "tabular-classification": ("tabular", "predicts churn from tabular features",
                               ["xgboost", "lightgbm", "sklearn"]),
    "time-series-forecasting": ("forecast", "forecasts demand", ["patchtst", "informer"]),
}
LANGS = ["en", "de", "fr", "es", "it", "ja", "zh", "hi", "sw", "ar", "ru", "pt", "nl", "ko",
         "multilingual"]
LICENSES = ["apache-2.0", "mit", "cc-by-4.0", "cc-by-nc-4.0", "gpl-3.0", "llama3", "openrail",
            "other"]
DOMAINS = ["medical", "legal", "finance", "customer support", "news", "social media",
           "e-commerce", "scientific papers", "call center", "manufacturing", "agriculture",
           "retail", "automotive", "energy", "education", "gaming"]
ORGS = ["nordlicht", "acme-ai", "bluefin", "kestrel", "orca-labs", "tundra", "sable", "quill",
        "meridian", "polaris", "umbra", "lumen", "cobalt", "vireo", "helix", "zephyr"]
SIZES = [("tiny", 5e6), ("small", 60e6), ("base", 120e6), ("large", 350e6), ("xl", 1.5e9),
         ("7b", 7e9)]


def synthetic_card(i: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """``(path, facts)`` of the i-th synthetic model."""
    task = rng.choice(list(TASKS))
    short, does, archs = TASKS[task]
    arch = rng.choice(archs)
    lang = rng.choice(LANGS)
    lic = rng.choice(LICENSES)
    domain = rng.choice(DOMAINS)
    org = rng.choice(ORGS)
    size_name, params = rng.choice(SIZES)
    name = f"{org}/{arch}-{size_name}-{short}-{lang}-{i:06d}"
    desc = (f"# {arch.upper()} {size_name} for {domain}\n\n"
            f"This {arch} {size_name} model {does} for the {domain} domain in {lang}. "
            f"It was fine-tuned by {org} on {rng.randint(2, 900)}k in-house examples and "
            f"evaluated on a held-out {domain} benchmark. Intended for research and "
            f"{'commercial' if lic in ('apache-2.0', 'mit', 'cc-by-4.0') else 'limited'} use. "
            f"Limitations: quality drops on out-of-domain inputs; revision {rng.randint(1, 9)}.")
    facts = {"kind": "model", "format": "huggingface", "framework": "transformers",
             "name": name, "task": task, "architecture": arch, "language": [lang],
             "license": lic, "tags": [short, domain.replace(" ", "-"), arch],
             "parameters": int(params * rng.uniform(0.8, 1.2)), "description": desc}
    return f"models/{org}/{arch}-{size_name}-{short}-{lang}-{i:06d}", facts
