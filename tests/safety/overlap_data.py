"""A contamination test set written for these tests: evaluation prompts, light paraphrases of
some of them, and unrelated training prompts (some on the same topics, to be hard)."""

from __future__ import annotations

# (evaluation prompt, a light paraphrase of it)
PLANTED: list[tuple[str, str]] = [
    (
        "Explain why the sky looks blue during the day but red at sunset.",
        "Can you explain why the sky appears blue in daytime but red at sunset?",
    ),
    (
        "Write a short poem about the moon rising over a quiet harbour.",
        "Write a brief poem about the moon rising above a calm harbour.",
    ),
    (
        "What are the main differences between a list and a tuple in Python?",
        "What are the key differences between a Python list and a tuple?",
    ),
    (
        "Summarise the causes of the French Revolution in three sentences.",
        "In three sentences, summarise what caused the French Revolution.",
    ),
    (
        "How do vaccines train the immune system to recognise a virus?",
        "How does a vaccine teach the immune system to recognise a virus?",
    ),
    (
        "Give me a recipe for a vegetarian lasagne that serves four people.",
        "Give me a vegetarian lasagne recipe that serves four people.",
    ),
    (
        "Describe how a bill becomes a law in the United States Congress.",
        "Describe how a bill turns into a law in the US Congress.",
    ),
    (
        "Why do cats purr, and does it always mean they are happy?",
        "Why do cats purr, and does purring always mean a cat is happy?",
    ),
    (
        "Translate the sentence 'the library opens at nine tomorrow' into French.",
        "Translate 'the library opens at nine tomorrow' into French.",
    ),
    (
        "What is the difference between weather and climate?",
        "What's the difference between climate and weather?",
    ),
    (
        "Write a haiku about autumn leaves falling into a river.",
        "Write a haiku about falling autumn leaves landing in a river.",
    ),
    (
        "How can I improve my sleep if I keep waking up at 3 am?",
        "How do I improve my sleep if I keep waking up at 3 in the morning?",
    ),
]

# Evaluation prompts that nothing in training copies.
CLEAN_EVAL: list[str] = [
    "List five practical tips for learning to play the violin as an adult.",
    "What does a central bank do when inflation rises too fast?",
    "Explain the rules of cricket to someone who has never seen a match.",
    "Write a limerick about a penguin who wants to fly.",
    "How does public key cryptography let strangers share secrets?",
    "Compare the novels of Jane Austen and Charlotte Bronte.",
]

# Training prompts unrelated to any evaluation prompt; the first few share a topic.
UNRELATED: list[str] = [
    "Why is the ocean salty while most rivers are fresh?",
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "How do I reverse a dictionary in Python so values become keys?",
    "What role did Napoleon play after the French Revolution ended?",
    "How does the immune system fight a bacterial infection?",
    "Give me a recipe for a chocolate cake without eggs.",
    "How are Supreme Court justices appointed in the United States?",
    "Why do dogs wag their tails?",
    "Translate 'good morning, how are you' into Spanish.",
    "What causes earthquakes along tectonic plate boundaries?",
    "Write a sonnet about the first snow of winter.",
    "What foods should I avoid before bed to prevent heartburn?",
    "Plan a three day hiking trip in the Scottish Highlands.",
    "Explain how a compiler turns source code into machine code.",
    "What is the best way to store fresh herbs in the fridge?",
    "Describe the life cycle of a monarch butterfly.",
    "How do solar panels convert sunlight into electricity?",
    "Write a product description for a waterproof hiking backpack.",
    "What are the health benefits of regular swimming?",
    "Explain the offside rule in football.",
]


def case_punct_edit(text: str) -> str:
    """The same prompt in upper case with punctuation and spacing mangled."""
    return "  " + text.upper().replace(",", " ,").replace("?", "??").replace(" ", "   ") + "!!"
