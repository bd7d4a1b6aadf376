#!/usr/bin/env bash
# The GPU checks of docs/methodology.md ("Policies on the GPU"), for a machine with an NVIDIA GPU:
# validate-meters (NVML counter vs 20 ms power polling, gpu-matmul workload), then the default evaluation
# with the policy on CUDA and with the policy on the CPU, then the crossover map on the GPU and on the CPU
# (docs/crossover.md). About 10 minutes; results go to ${1:-gpu-check}/.
#
#     bash scripts/check_gpu.sh [OUTDIR]
set -euo pipefail
out="${1:-gpu-check}"
py="${PYTHON:-.venv/bin/python}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv | tee "$out/nvidia-smi.csv"
"$py" scripts/validate_meters.py --quiet | tee "$out/validate-meters.txt"
"$py" scripts/validate_meters.py --quiet --json > "$out/validate-meters.json"
common=(--env CartPole-v1 --compress prune --no-memory --replicates 2 --trials 2 --episodes 10 --quiet)
"$py" scripts/evaluate.py "${common[@]}" --device cuda --out "$out/cuda"
"$py" scripts/evaluate.py "${common[@]}" --device cpu --out "$out/cpu"
for d in cuda cpu; do
  "$py" - "$out/$d/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = r["energy"]
print(sys.argv[1], "headline", e["headline"]["scope"], "policy on", e["headline"]["policy_device"])
for name, d in e["devices"].items():
    print(f"  {name}: {d['meter']} {d['label']} idle {d.get('idle_w')} W [{d.get('idle_w_low')}, {d.get('idle_w_high')}]")
for cfg, s in r["summaries"].items():
    for name, d in s["energy_by_device"].items():
        print(f"  {cfg} {name}: gross {d['gross_per_episode_j']:.4g} J/ep, net {d['net_per_episode_j']} J/ep")
print("  verdicts:", *r["verdicts"].values(), sep="\n    ")
PY
done

# The crossover map on the GPU (docs/crossover.md): fp16, bf16 and structured pruning against the float policy,
# torch on CUDA, NVML energy net of the idle power; then the same widths and batches on this machine's CPU
# (ptdq and structured pruning), and the two overlaid (structured pruning is on both). About 5 more minutes
# on an H100; the maps go to $out/crossover-cuda/, $out/crossover-cpu/ and $out/crossover-compare/.
"$py" scripts/crossover.py --device cuda --widths 64,256,1024,4096 --batches 1,64,256,1024 \
  --methods fp16,bf16,prune-structured --replicates 3 --quiet --out "$out/crossover-cuda"
"$py" scripts/crossover.py --widths 64,256,1024,4096 --batches 1,64,256,1024 --methods ptdq,prune-structured \
  --runtimes torch --replicates 3 --threads "$(nproc)" --quiet --out "$out/crossover-cpu"
"$py" scripts/crossover.py --compare "$out/crossover-cuda" "$out/crossover-cpu" --out "$out/crossover-compare"
