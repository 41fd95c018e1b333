"""Training: PPO on the batched 2048 env (`ppo`), runs in child processes (`manager`), their
budgets and learning-rate schedules (`budget`), checkpoints (`checkpoint`) and evaluation games
(`evaluate`)."""

from model_studio.training.budget import Budget
from model_studio.training.checkpoint import CheckpointError, CheckpointMismatchError, load_checkpoint, model_from_checkpoint
from model_studio.training.evaluate import format_summary, play_games
from model_studio.training.manager import TrainingBusyError, TrainingManager
from model_studio.training.ppo import PPOConfig, PPOTrainer

__all__ = [
    "Budget",
    "CheckpointError",
    "CheckpointMismatchError",
    "PPOConfig",
    "PPOTrainer",
    "TrainingBusyError",
    "TrainingManager",
    "format_summary",
    "load_checkpoint",
    "model_from_checkpoint",
    "play_games",
]
