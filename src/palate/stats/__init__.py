"""Statistics: win rates, rankings, truth inference, agreement, prediction-powered inference."""
