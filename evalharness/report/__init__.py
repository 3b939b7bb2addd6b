"""Reading runs back and turning them into numbers. Imports nothing from the runner, models or sandboxes."""
