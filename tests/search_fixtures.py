"""Small real model directories and files for the search tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def hf_model(root: Path, name: str, *, title: str, body: str, config: dict[str, Any] | None
             = None, **front: Any) -> Path:
    """A Hugging Face style model directory: README.md model card + config.json."""
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "README.md").write_text("---\n" + yaml.safe_dump(front, sort_keys=True) + "---\n\n"
                                 + f"# {title}\n\n{body}\n")
    cfg = config or {"architectures": ["BertForSequenceClassification"],
                     "model_type": "bert", "hidden_size": 64, "num_hidden_layers": 2}
    (d / "config.json").write_text(json.dumps(cfg))
    return d


def zoo(root: Path) -> Path:
    """Four model cards with distinct tasks, languages and licences."""
    hf_model(root, "asr-de", title="Nordlicht telephony speech recognizer",
             body="Automatic speech recognition for German telephone audio, fine-tuned on "
                  "8 kHz call-center recordings. Transcribes customer calls.",
             license="apache-2.0", language=["de"], pipeline_tag="automatic-speech-recognition",
             tags=["audio", "telephony"],
             config={"architectures": ["WhisperForConditionalGeneration"],
                     "model_type": "whisper", "d_model": 384})
    hf_model(root, "asr-en-nc", title="Harbor English dictation",
             body="Speech to text for English dictation of clinical notes. Research only.",
             license="cc-by-nc-4.0", language=["en"], pipeline_tag="automatic-speech-recognition",
             tags=["audio", "medical"],
             config={"architectures": ["Wav2Vec2ForCTC"], "model_type": "wav2vec2"})
    hf_model(root, "sentiment-ja", title="Sakura review sentiment",
             body="Classifies Japanese product reviews as positive, negative or neutral.",
             license="mit", language=["ja"], pipeline_tag="text-classification",
             tags=["sentiment", "reviews"], base_model="tohoku/bert-base-japanese")
    hf_model(root, "detector", title="Foundry defect detector",
             body="Finds scratches and dents on metal parts in factory camera images; "
                  "draws bounding boxes.",
             license="gpl-3.0", pipeline_tag="object-detection", tags=["vision", "industry"],
             config={"architectures": ["DetrForObjectDetection"], "model_type": "detr"})
    return root
