// Placeholder until the executable lands.
print("marketlens")
