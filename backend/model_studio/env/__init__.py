"""2048 environments: a Gymnasium env and a batched numpy env for training.

Importing this package registers :class:`Game2048Env` as ``"ModelStudio/Game2048-v0"``.
"""

import gymnasium

from model_studio.env.game2048 import Game2048Env
from model_studio.env.tables import ACTIONS, MAX_EXPONENT
from model_studio.env.vector import BatchedGame2048

ENV_ID = "ModelStudio/Game2048-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="model_studio.env.game2048:Game2048Env")

__all__ = ["ACTIONS", "ENV_ID", "MAX_EXPONENT", "BatchedGame2048", "Game2048Env"]
