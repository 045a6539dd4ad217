"""The ReAct loop: Thought → Action → Observation … → Final Answer, on any `LanguageModel`.

With `constrained=True` (the default) the agent writes the format itself and lets the model fill
in only the free parts, each with a constraint: after the thought, the model may only write one
of "Action: <registered tool>" or "Final Answer:"; a tool with a declared input charset gets its
input constrained to it. With `constrained=False` the model writes whole steps, which
`react_format.parse_step` reads back. Either way a problem (unknown tool, bad arguments,
a repeated action, a tool error) becomes an observation the model can act on; nothing raises out
of `run` except a bad question (`validators.InputError`).

Budgets: steps, generated tokens and wall-clock seconds per run, and cancellation; when one runs
out the model is asked for a final answer from what it has. Multi-turn: earlier questions and
answers stay in the prompt, their traces do not.
"""

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from py_agent.constraints import (
    CharsetConstraint,
    ChoiceConstraint,
    CopyConstraint,
    QuestionNumbersConstraint,
)
from py_agent.events import Event, EventKind
from py_agent.examples import ExamplePicker
from py_agent.llm import Completion, LanguageModel, Span, TokenConstraint
from py_agent.react_format import (
    FINAL,
    TUNED,
    Step,
    Turn,
    parse_step,
    prompt_spans,
)
from py_agent.tools import Tool, ToolRegistry, output_is_answer
from py_agent.tools.quantities import (
    EXTRA_NUMBERS,
    has_number,
    number_strings,
    numbers_in,
    uses_all,
)
from py_agent.validators import clean_user_text, one_line


@dataclass(frozen=True)
class Budget:
    max_steps: int = 5
    max_generated_tokens: int = 768
    max_seconds: float = 120.0
    thought_tokens: int = 48
    input_tokens: int = 64
    answer_tokens: int = 96
    step_tokens: int = 160  # unconstrained: a whole step


@dataclass
class RunResult:
    answer: str
    events: list[Event] = field(default_factory=list)
    steps: int = 0
    generated_tokens: int = 0
    forced: bool = False  # the answer was asked for because a budget ran out
    cancelled: bool = False

    def actions(self) -> list[tuple[str, str]]:
        return [(e.data["tool"], e.data["input"]) for e in self.events if e.kind == "action"]


class Agent:
    def __init__(
        self,
        model: LanguageModel,
        tools: ToolRegistry,
        *,
        prompt_format: str = "completion",
        constrained: bool = True,
        ground_answers: bool = True,
        examples: int = 3,
        budget: Budget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if len(tools) == 0:
            raise ValueError("the agent needs at least one tool")
        self.model = model
        self.tools = tools
        self.prompt_format = prompt_format
        self.constrained = constrained
        self.ground_answers = ground_answers
        # A fine-tuned model learnt the format and the tools: worked examples would only
        # lengthen the prompt (and the first token's wait).
        self.n_examples = 0 if prompt_format == TUNED else examples
        self.picker = ExamplePicker(tools.names)
        self.budget = budget or Budget()
        self.history: list[Turn] = []
        self._clock = clock
        self._choices: dict[tuple[str, ...], ChoiceConstraint] = {}
        self._charsets: dict[str, CharsetConstraint] = {}
        self._numbers: dict[str, QuestionNumbersConstraint] = {}

    # -- public -------------------------------------------------------------------------------

    def run(
        self,
        question: str,
        on_event: Callable[[Event], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> RunResult:
        """Answer `question` (a new turn of the conversation)."""
        q = clean_user_text(question)
        state = _Run(self, q, on_event, cancel)
        answer = state.go()
        self.history.append(Turn(q, one_line(answer, 600)))
        return state.result

    def reset(self) -> None:
        """Forget the conversation."""
        self.history.clear()

    # -- constraints (built once per agent: encoding the choices costs tokenizer calls) -------

    def choice_constraint(self, names: Sequence[str]) -> ChoiceConstraint:
        """The next line: an action of one of the tools `names`, or the final answer (not when
        exactly one tool is required)."""
        key = tuple(names)
        if key not in self._choices:
            options = [f"Action: {name}\n" for name in names]
            self._choices[key] = ChoiceConstraint([*options, FINAL], self.model.encode)
        return self._choices[key]

    def required_choice(self, name: str) -> ChoiceConstraint:
        """Only the action `name`."""
        key = ("", name)
        if key not in self._choices:
            self._choices[key] = ChoiceConstraint([f"Action: {name}\n"], self.model.encode)
        return self._choices[key]

    def input_constraint(self, tool_name: str, question: str) -> TokenConstraint | None:
        t = self.tools.get(tool_name)
        if t is not None and t.input_from_question:
            return CopyConstraint(question, self.model.encode, enders=self.model.encode("\n"))
        if t is None or t.input_charset is None:
            return None
        if tool_name not in self._charsets:
            newline = self.model.encode("\n")
            vocab = getattr(self.model, "vocab_size", None)
            if not isinstance(vocab, int):
                return None
            self._charsets[tool_name] = CharsetConstraint(
                t.input_charset, vocab, self.model.token_text, enders=newline
            )
        charset = self._charsets[tool_name]
        if not (t.input_uses_numbers and has_number(question)):
            return charset
        if tool_name not in self._numbers:  # built once: it reads every allowed token's text
            self._numbers[tool_name] = QuestionNumbersConstraint(
                charset, (), lambda _: True, self.model.token_text, self.budget.input_tokens
            )
        wanted = numbers_in(question)
        # An average divides by how many numbers the question gives.
        count = {str(len(wanted))} if len(wanted) > 2 else set()
        return self._numbers[tool_name].for_question(
            number_strings(question) | EXTRA_NUMBERS | count,
            lambda text: uses_all(text, wanted),
            self.budget.input_tokens,
        )


def _plain(text: str) -> str:
    """Lower case, code quotes and end punctuation gone, spaces collapsed: how a span is found
    in a sentence ("`snip -a`." in "Prune them with snip -a")."""
    return " ".join(text.replace("`", " ").strip().rstrip(".!?").lower().split())


class _OutOfTokensError(Exception):
    """The run's token budget is spent before the step could finish."""


_LONG_OBSERVATION = re.compile(r"(Observation: )([^\n]{81,}?)( …\(cut\))?\n")


def _shorten(m: re.Match[str]) -> str:
    body = m.group(2)
    if m.group(3):  # already cut: drop it to a marker
        return f"{m.group(1)}(cut)\n"
    return f"{m.group(1)}{body[:60]} …(cut)\n"


class _Run:
    """One question's run: the trace, the budgets, the events."""

    def __init__(
        self,
        agent: Agent,
        question: str,
        on_event: Callable[[Event], None] | None,
        cancel: Callable[[], bool] | None,
    ) -> None:
        self.a = agent
        self.question = question
        self.on_event = on_event
        self.cancel_fn = cancel
        self.trace = "Thought:"
        self.result = RunResult(answer="")
        self.started = agent._clock()
        self.seen_actions: dict[tuple[str, str], str] = {}
        self.dropped_turns = 0
        # Chosen once per run so that the prompt prefix (and the KV cache) stays the same.
        self.offered = [t.name for t in agent.tools if t.applies_to(question)]
        self.examples = agent.picker.pick(question, agent.n_examples, self.offered)
        self.last_output: tuple[str, str] | None = None  # (tool, output) of the last good call

    # -- plumbing -----------------------------------------------------------------------------

    def emit(self, kind: EventKind, text: str, **data: object) -> None:
        event = Event(kind, text, dict(data))
        self.result.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def cancelled(self) -> bool:
        if self.cancel_fn is not None and self.cancel_fn():
            self.result.cancelled = True
        return self.result.cancelled

    def out_of_budget(self) -> bool:
        b = self.a.budget
        return (
            self.result.steps >= b.max_steps
            or self.result.generated_tokens >= b.max_generated_tokens
            or self.a._clock() - self.started >= b.max_seconds
        )

    def prompt(self) -> list[Span]:
        """The prompt, made to fit the context window with room for the next completion:
        the oldest earlier turns go first, then the oldest observations are cut short."""
        model = self.a.model
        reserve = max(self.a.budget.step_tokens, self.a.budget.answer_tokens)
        while True:
            history = self.a.history[self.dropped_turns :]
            spans = prompt_spans(
                self.a.prompt_format,
                self.a.tools,
                history,
                self.question,
                self.trace,
                self.examples,
            )
            used = 1 + sum(len(model.encode(s.text)) for s in spans)
            if used + reserve <= model.context_window:
                return spans
            if history:  # dropped for the rest of this run, so the prompt prefix stays stable
                self.dropped_turns += 1
                continue
            shorter = _LONG_OBSERVATION.sub(_shorten, self.trace, count=1)
            if shorter == self.trace:
                return spans  # nothing left to cut: the backend reports the overflow
            self.trace = shorter

    def complete(
        self,
        max_tokens: int,
        stop: tuple[str, ...] = ("\n",),
        constraint: TokenConstraint | None = None,
        stream: bool = True,
    ) -> Completion:
        left = self.a.budget.max_generated_tokens - self.result.generated_tokens
        if left <= 0:
            raise _OutOfTokensError
        c = self.a.model.complete(
            self.prompt(),
            max_tokens=max(1, min(max_tokens, left)),
            stop=stop,
            constraint=constraint,
            on_text=(lambda t: self.emit("token", t)) if stream else None,
            cancel=self.cancel_fn,
        )
        self.result.generated_tokens += c.tokens
        if c.finish_reason == "cancelled":
            self.result.cancelled = True
        return c

    # -- the loop -----------------------------------------------------------------------------

    def go(self) -> str:
        try:
            while not self.cancelled():
                if self.out_of_budget():
                    return self.force_answer()
                self.result.steps += 1
                self.emit("step", f"step {self.result.steps}", step=self.result.steps)
                step = self.constrained_step() if self.a.constrained else self.free_step()
                if self.result.cancelled:
                    break
                if step.final_answer is not None:
                    return self.finish(step.final_answer)
                if self.act(step) == "repeat":
                    # Asking the same again means the model is stuck: an answer grounded in
                    # that output beats another lap (and an answer made up under budget).
                    grounded = self.grounded_answer()
                    if grounded is not None:
                        return self.finish(grounded)
            return self.finish("(stopped)")
        except _OutOfTokensError:
            return self.force_answer()
        except Exception as exc:  # a backend failure ends the run with an error event
            self.emit("error", f"{type(exc).__name__}: {exc}")
            return self.finish(f"(error: {exc})")

    def constrained_step(self) -> Step:
        thought = self.complete(self.a.budget.thought_tokens).text.strip()
        self.trace += f" {thought}\n"
        self.emit("thought", thought)
        required = self.required_tool()
        choices = (
            self.a.required_choice(required) if required else self.a.choice_constraint(self.offered)
        )
        # Each choice ends at a stop string: "\n" after an action, "Answer:" for the answer.
        pick = self.complete(
            choices.max_tokens,
            stop=("\n", "Answer:"),
            constraint=choices,
            stream=False,
        ).text
        if not pick.startswith("Action:"):
            self.trace += FINAL
            grounded = self.grounded_answer()
            if grounded is not None:
                self.trace += f" {grounded}\n"
                return Step(thought, final_answer=grounded)
            return Step(thought, final_answer=self.supported(self.answer_text()))
        name = pick[len("Action:") :].strip()
        self.trace += f"Action: {name}\nAction Input:"
        t = self.a.tools.get(name)
        if t is not None and t.input_is_question:
            raw = one_line(self.question)
        else:
            raw = self.complete(
                self.a.budget.input_tokens, constraint=self.a.input_constraint(name, self.question)
            ).text.strip()
        self.trace += f" {raw}\n"
        return Step(thought, action=name, action_input=raw)

    def required_tool(self) -> str | None:
        """The tool the question needs first (see `Tool.required_for`), on the first step."""
        if not self.a.constrained or self.result.steps != 1:
            return None
        for t in self.a.tools:
            if (
                t.required_for is not None
                and t.name in self.offered
                and t.required_for(self.question)
            ):
                return t.name
        return None

    def free_step(self) -> Step:
        text = self.complete(self.a.budget.step_tokens, stop=("\nObservation:", "\nQuestion:"))
        step = parse_step(text.text, self.a.tools)
        if step.thought:
            self.emit("thought", step.thought)
        if step.final_answer is not None:
            self.trace += f" {step.thought}\n{FINAL} {step.final_answer}\n"
            return step
        written = f" {step.thought}\n"
        if step.action is not None:
            written += f"Action: {step.action}\nAction Input: {one_line(step.action_input or '')}\n"
        self.trace += written
        return step

    def grounded_answer(self) -> str | None:
        """The last tool output, when that tool's output is the answer (see `Tool`)."""
        if not self.a.ground_answers or self.last_output is None:
            return None
        t = self.a.tools.get(self.last_output[0])
        if t is None or t.answer_from_output is None:
            return None
        if self.model_reads(t):
            # A fine-tuned model reads the answer's span out of the passages itself; the best
            # sentence would be a passage dump, not the answer.
            return None
        answer = t.answer_from_output(self.question, self.last_output[1])
        return None if answer is None else one_line(answer, 600)

    def model_reads(self, t: Tool) -> bool:
        """Whether the model writes the answer out of this tool's output itself: with the
        `tuned` prompt, for a tool whose output holds the answer without being it (passages)."""
        return (
            self.a.prompt_format == TUNED
            and t.answer_from_output is not None
            and t.answer_from_output is not output_is_answer
        )

    def supported(self, answer: str) -> str:
        """With the `tuned` prompt the model reads a passage's answer span itself; the span must
        come from the sentence of the passages that best matches the question (`Tool.
        answer_from_output`), else that sentence answers instead: a span the evidence does not
        hold is a guess (a 270M model may write one it learnt rather than the one it read)."""
        if not self.a.ground_answers or self.last_output is None:
            return answer
        t = self.a.tools.get(self.last_output[0])
        if t is None or t.answer_from_output is None or not self.model_reads(t):
            return answer
        sentence = t.answer_from_output(self.question, self.last_output[1])
        if sentence is None or _plain(answer) in _plain(sentence):
            return answer
        return one_line(sentence, 600)

    def answer_text(self, forced: bool = False) -> str:
        if forced:  # the answer gets its own tokens even when the run's budget is spent
            self.result.generated_tokens = min(
                self.result.generated_tokens,
                self.a.budget.max_generated_tokens - self.a.budget.answer_tokens,
            )
        c = self.complete(self.a.budget.answer_tokens, stop=("\n",))
        return c.text.strip() or "(no answer)"

    def act(self, step: Step) -> str:
        """Run the step's action and observe it: "ran", "repeat" or "problem"."""
        if step.problem is not None:
            self.observe(step.problem, tool=step.action or "", input=step.action_input or "")
            return "problem"
        assert step.action is not None
        raw = step.action_input or ""
        self.emit("action", f"{step.action}: {raw}", tool=step.action, input=raw)
        key = (step.action, raw.strip())
        if key in self.seen_actions:
            self.observe(
                f"You already ran this and got: {self.seen_actions[key]} "
                "Use it to write the Final Answer.",
                tool=step.action,
                input=raw,
            )
            return "repeat"
        tool = self.a.tools.get(step.action)
        output = tool.run(raw) if tool is not None else f"Error: no tool {step.action!r}"
        if (
            output.startswith("Error:")
            and tool is not None
            and tool.input_from_question
            and raw.strip() != self.question
        ):
            # The input was meant to be copied from the question: the question itself may
            # parse where the copy did not ("days to days" vs "How many days are in a week?").
            retry = tool.run(self.question)
            if not retry.startswith("Error:"):
                output = retry
        self.seen_actions[key] = one_line(output, 300)
        ok = not output.startswith("Error:")
        self.last_output = (step.action, output) if ok else None
        self.observe(output, tool=step.action, input=raw)
        return "ran"

    def observe(self, text: str, **data: object) -> None:
        line = one_line(text)
        self.trace += f"Observation: {line}\nThought:"
        self.emit("observation", line, **data)

    def force_answer(self) -> str:
        self.result.forced = True
        grounded = self.grounded_answer()
        if grounded is not None:  # the last tool's output answers: better than memory
            return self.finish(grounded)
        if not self.trace.endswith("Thought:"):
            self.trace += "\nThought:"
        self.trace += f" I must answer now with what I know.\n{FINAL}"
        spent = self.result.generated_tokens
        answer = self.answer_text(forced=True)
        self.result.generated_tokens = max(spent, self.result.generated_tokens)
        return self.finish(answer)

    def finish(self, answer: str) -> str:
        self.result.answer = answer
        self.emit("answer", answer, forced=self.result.forced)
        return answer
