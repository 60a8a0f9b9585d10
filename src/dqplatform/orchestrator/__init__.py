"""The local supervisor behind `dqp up`: both planes as child processes, restarted on exit."""
