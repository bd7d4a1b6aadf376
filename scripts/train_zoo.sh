#!/usr/bin/env bash
# Train the MuJoCo zoo (docs/zoo.md) in two lanes, one torch thread each, checkpointed as it goes.
# Rerun the same command to continue: finished agents are skipped and unfinished ones resume.
#   usage: scripts/train_zoo.sh [AGENTS_DIR]   (default $PARADOX_GYM_AGENTS or ~/.local/share/paradox_gym/agents)
# Logs: AGENTS_DIR/logs/<algo>-<env>.log. Copy finished agents into the shipped zoo with
# scripts/ship_agents.py AGENTS_DIR.
set -u
OUT=${1:-${PARADOX_GYM_AGENTS:-$HOME/.local/share/paradox_gym/agents}}
CMD=${PARADOX_GYM_CMD:-paradox-gym}
mkdir -p "$OUT/logs"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

lane() {
    for pair in "$@"; do
        algo=${pair%%:*}
        env=${pair#*:}
        name=$(echo "$algo-$env" | tr '[:upper:]' '[:lower:]')
        if [ -f "$OUT/$name.zip" ]; then
            echo "$name: done" >&2
            continue
        fi
        echo "$name: training (log $OUT/logs/$name.log)" >&2
        nice -n 10 $CMD train --algo "$algo" --env "$env" --out "$OUT" --eval-episodes 10 --no-progress \
            --resume >> "$OUT/logs/$name.log" 2>&1 || echo "$name: failed, see its log" >&2
    done
}

lane PPO:Hopper-v5 TRPO:Hopper-v5 TRPO:HalfCheetah-v5 PPO:HalfCheetah-v5 DDPG:HalfCheetah-v5 TD3:HalfCheetah-v5 &
lane SAC:Hopper-v5 TD3:Hopper-v5 DDPG:Hopper-v5 SAC:HalfCheetah-v5 &
wait
