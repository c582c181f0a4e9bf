from contour.cli import main

# Guarded: a multiprocessing child started with "spawn" (vLLM's workers with
# --engine vllm on several GPUs) re-imports this module and must not run the CLI.
if __name__ == "__main__":
    main()
