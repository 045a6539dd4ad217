"""Arithmetic word problems for the fine-tune's traces: each maker draws numbers, names and a
phrasing, and returns the question with the expression the model should write (every number of
the question in it, as the agent's input constraint requires; `traces.arithmetic` runs it on
the real calculator)."""

import random
from collections.abc import Callable

from build_tools.finetune import facts

Make = Callable[[random.Random], tuple[str, str]]  # rng -> (question, expression)


def _money(rng: random.Random, lo: int, hi: int) -> str:
    return (
        str(rng.randint(lo, hi))
        if rng.random() < 0.7
        else f"{rng.randint(lo, hi)}.{rng.choice(['5', '25', '75', '99'])}"
    )


def _arith_makers() -> list[Make]:
    n, pick = facts.NAMES, facts.ITEMS
    makers: list[Make] = []

    def add(f: Make) -> Make:
        makers.append(f)
        return f

    @add
    def percent_of(r: random.Random) -> tuple[str, str]:
        p, x = r.choice([5, 8, 12, 15, 18, 25, 30, 35, 40, 45, 60, 65, 75, 85]), r.randint(40, 2400)
        q = r.choice(
            [
                f"What is {p}% of {x}?",
                f"how much is {p} percent of {x}",
                f"Calculate {p}% of {x}.",
                f"{p}% of {x} is how much?",
                f"Find {p} percent of {x}",
            ]
        )
        return q, f"{x} * {p} / 100"

    @add
    def discount(r: random.Random) -> tuple[str, str]:
        p, x = r.choice([10, 15, 20, 25, 30, 35, 40, 50]), _money(r, 20, 900)
        item = r.choice(pick)
        q = r.choice(
            [
                f"A {item} costs {x} dollars and is {p}% off. What do I pay?",
                f"{r.choice(n)} buys a {item} priced at ${x} with a {p}% discount. "
                f"How much does {r.choice(['she', 'he'])} pay?",
                f"What's the sale price of a {x} euro {item} at {p} percent off?",
                f"The {item} was {x} before a {p}% markdown. What is the new price?",
            ]
        )
        return q, f"{x} - {x} * {p} / 100"

    @add
    def increase(r: random.Random) -> tuple[str, str]:
        p, x = r.choice([3, 5, 6, 10, 12, 20, 25]), r.randint(50, 5000)
        q = r.choice(
            [
                f"A rent of {x} goes up by {p}%. What is the new rent?",
                f"Prices rose {p} percent. What does something that cost {x} cost now?",
                f"{r.choice(n)} earned {x} a month and got a {p}% raise. What is the new pay?",
            ]
        )
        return q, f"{x} + {x} * {p} / 100"

    @add
    def what_percent(r: random.Random) -> tuple[str, str]:
        total = r.choice([20, 25, 40, 50, 80, 200, 250, 400, 500])
        part = r.randint(1, total - 1)
        q = r.choice(
            [
                f"What percent of {total} is {part}?",
                f"{r.choice(n)} got {part} out of {total} points. What percentage is that?",
                f"{part} of the {total} seats are taken. What percent is that?",
            ]
        )
        return q, f"{part} / {total} * 100"

    @add
    def average(r: random.Random) -> tuple[str, str]:
        k = r.choice([3, 3, 4, 5])
        xs = [r.randint(2, 99) for _ in range(k)]
        listed = ", ".join(map(str, xs[:-1])) + f" and {xs[-1]}"
        q = r.choice(
            [
                f"What is the average of {listed}?",
                f"Find the mean of {listed}.",
                f"{r.choice(n)} scored {listed} in {k} games. What was the average score?",
                f"average of {listed}?",
            ]
        )
        return q, "(" + " + ".join(map(str, xs)) + f") / {k}"

    @add
    def more_than(r: random.Random) -> tuple[str, str]:
        a, b = sorted(r.sample(range(12, 3000), 2))
        who1, who2 = r.sample(n, 2)
        q = r.choice(
            [
                f"{who1} has {a} stamps and {who2} has {b}. How many more does {who2} have?",
                f"How much bigger is {b} than {a}?",
                f"The difference between {b} and {a}?",
                f"A shop sold {b} cups on Monday and {a} on Tuesday. How many fewer on Tuesday?",
                f"What is {a} less than {b}?",
                f"How far apart are {a} and {b}?",
            ]
        )
        return q, f"{b} - {a}"

    @add
    def subtract_from(r: random.Random) -> tuple[str, str]:
        a, b = sorted(r.sample(range(5, 2000), 2))
        q = r.choice(
            [
                f"Subtract {a} from {b}.",
                f"Take {a} away from {b}.",
                f"{r.choice(n)} had {b} dollars and spent {a}. How much is left?",
                f"What is {b} minus {a}?",
                f"A tank holds {b} liters and {a} leak out. How much remains?",
            ]
        )
        return q, f"{b} - {a}"

    @add
    def times_as(r: random.Random) -> tuple[str, str]:
        b = r.randint(2, 40)
        a = b * r.randint(2, 30)
        q = r.choice(
            [
                f"How many times larger is {a} than {b}?",
                f"{a} is how many times {b}?",
                f"How many times does {b} go into {a}?",
                f"A tower is {a} m tall and a house is {b} m. How many times taller is the tower?",
            ]
        )
        return q, f"{a} / {b}"

    @add
    def split(r: random.Random) -> tuple[str, str]:
        k = r.randint(2, 12)
        total = _money(r, 30, 900)
        q = r.choice(
            [
                f"{k} friends split a bill of {total} dollars equally. How much does each pay?",
                f"Divide {total} by {k}.",
                f"If {total} euros is shared among {k} people, what does each get?",
                f"We owe {total} in total and there are {k} of us. What is each share?",
            ]
        )
        return q, f"{total} / {k}"

    @add
    def total_cost(r: random.Random) -> tuple[str, str]:
        k, price, item = r.randint(2, 48), _money(r, 1, 60), r.choice(pick)
        q = r.choice(
            [
                f"One {item} costs {price} dollars. What do {k} of them cost?",
                f"{r.choice(n)} buys {k} {item}s at ${price} each. What is the total?",
                f"How much for {k} {item}s if each is {price}?",
                f"{k} {item}s at {price} apiece comes to how much?",
            ]
        )
        return q, f"{k} * {price}"

    @add
    def product(r: random.Random) -> tuple[str, str]:
        a, b = r.randint(11, 999), r.randint(3, 99)
        q = r.choice(
            [
                f"What is {a} * {b}?",
                f"{a} times {b}",
                f"Multiply {a} by {b}.",
                f"what's {a} x {b}?",
                f"Compute the product of {a} and {b}.",
            ]
        )
        return q, f"{a} * {b}"

    @add
    def quotient(r: random.Random) -> tuple[str, str]:
        b = r.randint(2, 60)
        a = b * r.randint(2, 200) + r.choice([0, 0, r.randint(1, b - 1)])
        q = r.choice(
            [f"What is {a} divided by {b}?", f"{a} / {b} = ?", f"How much is {a} over {b}?"]
        )
        return q, f"{a} / {b}"

    @add
    def total_sum(r: random.Random) -> tuple[str, str]:
        xs = [r.randint(10, 9000) for _ in range(r.choice([2, 2, 3, 4]))]
        q = r.choice(
            [
                "What is " + " + ".join(map(str, xs)) + "?",
                "Add " + ", ".join(map(str, xs[:-1])) + f" and {xs[-1]}.",
                "What is the sum of " + ", ".join(map(str, xs[:-1])) + f" and {xs[-1]}?",
                f"{r.choice(n)} walked "
                + ", ".join(map(str, xs[:-1]))
                + f" and {xs[-1]} steps on different days. How many steps in all?",
            ]
        )
        return q, " + ".join(map(str, xs))

    @add
    def power(r: random.Random) -> tuple[str, str]:
        a, b = r.randint(2, 12), r.randint(3, 9)
        q = r.choice(
            [
                f"What is {a} to the power of {b}?",
                f"{a} raised to the {b}th power?",
                f"Compute {a}^{b}.",
                f"what is {a} ** {b}",
            ]
        )
        return q, f"{a} ** {b}"

    @add
    def squared(r: random.Random) -> tuple[str, str]:
        a = r.randint(4, 150)
        q = r.choice([f"What is {a} squared?", f"Square {a}.", f"What's the square of {a}?"])
        return q, f"{a} ** 2"

    @add
    def squared_minus(r: random.Random) -> tuple[str, str]:
        a, b = r.randint(4, 60), r.randint(2, 300)
        q = r.choice(
            [
                f"What is {a} squared minus {b}?",
                f"Square {a}, then subtract {b}.",
                f"{a} squared plus {b}?",
            ]
        )
        op = "+" if "plus" in q else "-"
        return q, f"{a} ** 2 {op} {b}"

    @add
    def cubed(r: random.Random) -> tuple[str, str]:
        a = r.randint(2, 30)
        q = r.choice([f"What is {a} cubed?", f"Cube {a}."])
        return q, f"{a} * {a} * {a}"

    @add
    def root(r: random.Random) -> tuple[str, str]:
        a = r.randint(2, 99) ** 2 if r.random() < 0.7 else r.randint(2, 5000)
        q = r.choice(
            [
                f"What is the square root of {a}?",
                f"sqrt of {a}?",
                f"Find the square root of {a}.",
                f"What number times itself gives {a}?",
            ]
        )
        return q, f"sqrt({a})"

    @add
    def factorial(r: random.Random) -> tuple[str, str]:
        a = r.randint(3, 15)
        q = r.choice(
            [
                f"What is {a} factorial?",
                f"Compute {a}!",
                f"What is the factorial of {a}?",
                f"In how many orders can {a} different books stand on a shelf?",
            ]
        )
        return q, f"factorial({a})"

    @add
    def speed(r: random.Random) -> tuple[str, str]:
        h = r.randint(2, 9)
        d = h * r.randint(30, 110) + r.choice([0, 0, r.randint(1, 20)])
        q = r.choice(
            [
                f"A train covers {d} km in {h} hours. What is its average speed in km/h?",
                f"{r.choice(n)} cycled {d} miles in {h} hours. How fast was that on average?",
                f"If a bus goes {d} km in {h} h, what is its speed?",
            ]
        )
        return q, f"{d} / {h}"

    @add
    def distance(r: random.Random) -> tuple[str, str]:
        v, h = r.randint(15, 120), r.randint(2, 11)
        q = r.choice(
            [
                f"A car drives at {v} km/h for {h} hours. How far does it go?",
                f"How many km does a truck cover in {h} hours at {v} km per hour?",
            ]
        )
        return q, f"{v} * {h}"

    @add
    def two_step(r: random.Random) -> tuple[str, str]:
        packs, per, gone = r.randint(2, 12), r.randint(4, 24), r.randint(1, 20)
        item = r.choice(pick)
        q = r.choice(
            [
                f"{r.choice(n)} buys {packs} boxes of {per} {item}s and gives away {gone}. "
                "How many are left?",
                f"There are {packs} crates with {per} {item}s each; {gone} break. "
                f"How many {item}s are still fine?",
            ]
        )
        return q, f"{packs} * {per} - {gone}"

    @add
    def two_step_plus(r: random.Random) -> tuple[str, str]:
        a, b, c = r.randint(2, 30), _money(r, 2, 90), _money(r, 2, 40)
        q = r.choice(
            [
                f"{r.choice(n)} buys {a} tickets at {b} dollars each and pays {c} dollars "
                "for parking. What is the total?",
                f"What is {a} times {b}, plus {c}?",
            ]
        )
        return q, f"{a} * {b} + {c}"

    @add
    def change(r: random.Random) -> tuple[str, str]:
        k, price = r.randint(2, 9), r.randint(2, 19)
        paid = r.choice([50, 100, 200])
        if k * price >= paid:
            paid = 500
        q = (
            f"{r.choice(n)} pays with a {paid} dollar note for {k} items at {price} dollars "
            "each. How much change comes back?"
        )
        return q, f"{paid} - {k} * {price}"

    @add
    def per_unit(r: random.Random) -> tuple[str, str]:
        k = r.randint(3, 24)
        cost = _money(r, 5, 300)
        item = r.choice(pick)
        q = r.choice(
            [
                f"{k} {item}s cost {cost} dollars. What does one cost?",
                f"If a pack of {k} {item}s is {cost}, what is the price per {item}?",
            ]
        )
        return q, f"{cost} / {k}"

    @add
    def remainder(r: random.Random) -> tuple[str, str]:
        b = r.randint(3, 25)
        a = r.randint(b + 1, 999)
        q = r.choice([f"What is the remainder of {a} divided by {b}?", f"{a} mod {b}?"])
        return q, f"{a} % {b}"

    @add
    def half_of(r: random.Random) -> tuple[str, str]:
        a = r.randint(3, 5000)
        q = r.choice([f"What is half of {a}?", f"What is twice {a}?", f"Double {a}."])
        return q, f"{a} / 2" if "half" in q else f"{a} * 2"

    return makers


ARITHMETIC = _arith_makers()
