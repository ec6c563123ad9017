"""secrets_stack.py STATE_DIR TOKEN_FILE: k3sim on STATE_DIR with the whole stack up
(the manifests applied with their gates, Vault initialised, unsealed and configured:
test_stack_manifests.SimulatorTest's bootstrap).  Writes the root token to TOKEN_FILE
(0600, outside agentd's state), prints "READY", and stops the simulator when stdin
closes."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sim"))

import test_stack_manifests as tsm  # noqa: E402
from harness import K3sim  # noqa: E402


class Stack(tsm.SimulatorTest):
    pass


def main(state, token_file):
    os.makedirs(state, exist_ok=True)
    Stack.values = tsm.load_values()
    Stack.objects = tsm.load_stack(Stack.values)
    Stack.k = K3sim(speed=1.0, state_dir=state).start()
    try:
        Stack.bootstrap()
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, Stack.root_token.encode())
        os.close(fd)
        print("READY", flush=True)
        sys.stdin.read()
    finally:
        Stack.k.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
