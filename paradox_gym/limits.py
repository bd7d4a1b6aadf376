"""Caps on every size a file or an argument can ask for, checked *before* anything is allocated.

A hostile or corrupt file (an agent zip, a compressed agent, normalisation statistics, an rl-zoo3 config)
or a careless argument must never make paradox_gym allocate memory or spend time in proportion to a number
it names. Each cap below is far above what real agents and environments use (SB3's and rl-zoo3's largest
MLPs are 400-1024 units wide; MuJoCo observations have < 400 entries) and far below what would exhaust a
small machine. docs/evaluation.md ("What happens when things go wrong") lists them.

Units: bytes (``_BYTES``), counts otherwise.
"""

from __future__ import annotations

#: Widest hidden layer rebuilt from a file (units).
MAX_LAYER_WIDTH = 4096
#: Most hidden layers in one network of a policy.
MAX_LAYERS = 16
#: Most parameters (weights and biases, all networks together) a rebuilt policy may hold: 4096 x 4096 x 4
#: is about 67 M, i.e. ~270 MB of float32.
MAX_POLICY_PARAMETERS = 64 * 1024 * 1024
#: Most discrete actions (``Discrete.n``, each entry of ``MultiDiscrete``).
MAX_ACTIONS = 65_536
#: Most entries of an observation or a continuous action (product of its shape).
MAX_SPACE_ENTRIES = 1_000_000
#: Largest agent file read (an SB3 zip, a compressed agent), on disk.
MAX_AGENT_FILE_BYTES = 512 * 1024 * 1024
#: Largest weights member of an agent zip (uncompressed): guards against decompression bombs.
MAX_WEIGHTS_BYTES = 256 * 1024 * 1024
#: Largest JSON member of an agent zip (uncompressed); SB3 writes a few kB to a few hundred kB.
MAX_JSON_BYTES = 16 * 1024 * 1024
#: Deepest nesting of lists / objects accepted in a JSON member (SB3 writes < 10 levels).
MAX_JSON_DEPTH = 64
#: Largest VecNormalize statistics file; real ones are a few kB.
MAX_VECNORMALIZE_BYTES = 16 * 1024 * 1024
#: Largest rl-zoo3 config file (config.yml, args.yml).
MAX_YAML_BYTES = 1024 * 1024
#: Most members of an agent zip (SB3 writes 6, a compressed agent 3); counted before the member list is read.
MAX_ZIP_MEMBERS = 64
#: Most tensors in one weights file (a state dict); SB3's largest policies have a few hundred.
MAX_TENSORS = 10_000
#: Most critics (Q networks) of an off-policy policy (SB3 uses 2, TQC 5, REDQ-style setups 10).
MAX_CRITICS = 16
#: Most QAT fine-tuning steps (``qat_steps`` of ``compress()`` and ``--qat-steps``, and what a saved compressed
#: agent may ask for when it is loaded); the default is 200.
MAX_QAT_STEPS = 1_000
#: Most calibration observations (``calibration_steps``; rows of a saved ``calibration.pt``); the default
#: is 512, and each row is one observation held in memory and passed through the policy.
MAX_CALIBRATION_ROWS = 100_000
#: Most QAT fine-tuning work a saved compressed agent may ask for when loaded, in step x parameter units:
#: steps x (inference parameters + ``QAT_STEP_FIXED_PARAMETERS``). Each step is a batch of 64 through the
#: network, and its fixed cost (fake-quantization modules, the optimizer) was measured as that of a network
#: of ~200,000 parameters: a 1024x1024 MLP (1.06 M parameters) fine-tunes at most 198 steps on load, a
#: 64x64 one the 1,000 of MAX_QAT_STEPS. docs/evaluation.md ("Size limits") states the worst-case load time.
MAX_QAT_WORK = 250_000_000
QAT_STEP_FIXED_PARAMETERS = 200_000
#: Wall-clock guard of QAT fine-tuning (``compress()`` and loading a saved agent), in seconds: past it the
#: fine-tuning stops with an error naming the steps done, whatever the machine's load.
MAX_QAT_SECONDS = 90.0
#: Largest ``complexity`` of the mock environment (a real number: physics sub-steps per step, a fraction
#: being a pro-rata partial one; one sub-step is 16,384 multiply-adds, ~1.5 us).
MAX_MOCK_COMPLEXITY = 100_000.0


# --- arguments (command line, grid files) and study files ---------------------------------------------------
#: Most episodes per trial (``--episodes``, ``episodes`` of a grid, ``--eval-episodes``, ``memory_episodes``). A
#: trial keeps every policy step's latency in memory until it ends (8 bytes a step), so 100,000 episodes of
#: 1,000 steps hold ~0.8 GB: longer measurements are more trials, not longer ones.
MAX_EPISODES = 100_000
#: Most trials per configuration in one replicate (``--trials``).
MAX_TRIALS = 100_000
#: Most replicates, each a fresh process (``--replicates``).
MAX_REPLICATES = 10_000
#: Most warm-up episodes per configuration (``--warmup``; the default is 2).
MAX_WARMUP = 100_000
#: Largest first seed (``--seed``): numpy's legacy seeding (SB3's ``set_random_seed``) takes 32-bit seeds.
#: Episode seeds add at most ``replicates x trials x episodes`` (< 10**14) to it, which every seeding path
#: (``SeedSequence``, ``torch.manual_seed``) accepts.
MAX_SEED = 2**32 - 1
#: Most torch threads (``--threads``); torch itself overflows at 2**31 and would try to start that many.
MAX_THREADS = 1024
#: Longest deadline of joining a Ray cluster (``sweep --ray-timeout``, in seconds; the default is 30).
MAX_RAY_TIMEOUT_S = 3600.0
#: Most worker processes of ``sweep --executor process`` (``--workers``); each is a fresh interpreter.
MAX_WORKERS = 256
#: Largest CPU TDP in W per package (``--cpu-tdp``, ``cpu_tdp_w``); real packages are below 1,000 W.
MAX_CPU_TDP_W = 10_000.0
#: Most training steps (``train --steps``); rl-zoo3's largest budgets are 10**7 to 10**8.
MAX_TRAIN_STEPS = 10**9
#: Most window lengths of ``validate-meters --windows`` (each runs every workload once).
MAX_METER_WINDOWS = 64
#: Largest grid file (YAML) read by ``sweep``.
MAX_GRID_BYTES = 1024 * 1024
#: Most values (mappings, lists and scalars, YAML aliases counted each time they are used) in a grid file,
#: and its deepest nesting: an alias bomb or a self-referencing grid is refused before anything walks it.
MAX_GRID_VALUES = 100_000
MAX_GRID_DEPTH = 32
#: Most cells (jobs) of one grid: agents x (methods without an amount + methods with one x amounts).
MAX_GRID_CELLS = 10_000
#: Largest job, failure or grid record read from a study directory (``jobs/*.json``, ``failed/*.json``,
#: ``grid.json``); a job of 10**6 episodes writes ~350 MB.
MAX_JOB_FILE_BYTES = 512 * 1024 * 1024
#: Most characters of one error message (the middle of a longer one is left out, saying how much).
MAX_MESSAGE_CHARS = 2000

#: Every cap above, by name (for docs and messages).
LIMITS: dict[str, int | float] = {name: value for name, value in dict(globals()).items() if name.startswith("MAX_")}
