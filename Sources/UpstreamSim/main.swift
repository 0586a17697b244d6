// Placeholder until the executable lands.
print("upstream-sim")
