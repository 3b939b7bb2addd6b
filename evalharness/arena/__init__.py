"""Arena mode: open-ended answers of several runs judged pairwise, rated with Bradley–Terry."""
