"""An OpenAI-compatible chat completions simulator speaking real HTTP, for the `openai` client.

sim = LLMSimulator()
server = ServerThread(create_app(sim)).start()
client = OpenAI(base_url=f"{server.url}/v1", api_key="sk-test", max_retries=0)
"""

from simulators.llm.api import create_app
from simulators.llm.model import Fault, LLMSimulator, analyse, log_text

__all__ = ["Fault", "LLMSimulator", "analyse", "create_app", "log_text"]
