//! `mlr init --from FILE`: the ml.toml written from each kind of existing
//! project file, snapshotted whole (values, the lines they come from, the
//! comments for what was not translated), the summary the user sees, the
//! errors for bad input, and a translated requirements file that locks.

use predicates::prelude::*;

use crate::support::{
    Project, PyIndex, Registry, Service, WheelSpec, push_debian_marker, require, shared_uv,
};

/// Runs `mlr init --from FILE` (with `args` after it) in `demo/`, where
/// the input files are, and renders the exit code, stdout and stderr.
fn init_from(p: &Project, args: &[&str]) -> String {
    let out = p
        .mlr()
        .current_dir(p.path("demo"))
        .args(["init", "--from"])
        .args(args)
        .output()
        .expect("running mlr");
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().map_or("signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.replace(&p.root().display().to_string(), "[ROOT]")
}

/// A project whose `demo/` holds `files`.
fn project(files: &[(&str, &str)]) -> Project {
    let p = Project::new();
    for (path, text) in files {
        p.file(&format!("demo/{path}"), text);
    }
    p
}

/// The ml.toml written, which mlr itself must read.
fn written(p: &Project) -> String {
    let text = p.read("demo/ml.toml");
    mlr::manifest::parse(&text, "ml.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(p.exists("demo/.mlr/ml.toml.schema.json"));
    text
}

#[test]
fn an_ngc_dockerfile_keeps_its_base_and_adds_pip_on_top() {
    let p = project(&[(
        "Dockerfile",
        "FROM nvcr.io/nvidia/pytorch:25.01-py3\nRUN pip install lightning\nWORKDIR /workspace\n",
    )]);
    insta::assert_snapshot!(init_from(&p, &["Dockerfile"]), @r"
    exit: 0
    --- stdout
    --- stderr
      Translated Dockerfile (a Dockerfile): base image, 1 pip package, 1 image setting
         Created ml.toml (project `demo`); nothing left untranslated
    ");
    insta::assert_snapshot!(written(&p), @r#"
    #:schema ./.mlr/ml.toml.schema.json
    # ml.toml: what this environment needs. `mlr lock` pins every moving part
    # into ml.lock; `mlr build` builds the image from the lock alone.
    #
    # Translated from Dockerfile (a Dockerfile) by `mlr init --from`. Each value
    # names the line it comes from; what could not be translated is listed as
    # comments. Review them, then run `mlr lock`.

    [project]
    name = "demo"
    platforms = ["linux/amd64"]

    [base]
    # An NGC image: mlr uses its Python and its installed packages (torch among
    # them) as they are, and installs the rest beside them (see Base images in the
    # book).
    image = "nvcr.io/nvidia/pytorch:25.01-py3"  # Dockerfile:1

    [pip]
    packages = [
        "lightning",  # Dockerfile:2
    ]

    [image]
    # The Dockerfile has no USER, so its image runs as root; mlr runs the image as
    # `ml` unless you write `user = "root"`.
    workdir = "/workspace"  # Dockerfile:3
    "#);
}

#[test]
fn a_2020_cuda_dockerfile_gives_apt_python_pip_and_a_git_sketch() {
    let p = project(&[(
        "Dockerfile",
        r#"FROM nvidia/cuda:9.0-cudnn7-devel-ubuntu16.04

RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake git curl ca-certificates \
        libssl-dev zlib1g-dev libbz2-dev libreadline-dev libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*

# Python through pyenv
ENV PYENV_ROOT=/root/.pyenv
ENV PATH=$PYENV_ROOT/shims:$PYENV_ROOT/bin:$PATH
RUN git clone https://github.com/pyenv/pyenv.git $PYENV_ROOT && \
    pyenv install 3.6.4 && pyenv global 3.6.4

RUN pip install torch==1.5.1 torchvision==0.6.1 'fvcore>=0.1.1'
RUN git clone https://github.com/facebookresearch/detectron2
RUN cd detectron2 && python setup.py build develop
ENV FORCE_CUDA="1" TORCH_CUDA_ARCH_LIST="Pascal;Volta;Turing"
WORKDIR /detectron2
CMD ["python", "tools/train_net.py", "--help"]
"#,
    )]);
    insta::assert_snapshot!(init_from(&p, &["Dockerfile"]), @r"
    exit: 0
    --- stdout
    --- stderr
      Translated Dockerfile (a Dockerfile): base image, Python version, 10 apt packages, 3 pip packages, 1 git source sketch, 3 environment variables, 2 image settings
         Created ml.toml (project `demo`); 1 line left as a comment to review
    ");
    insta::assert_snapshot!(written(&p), @r#"
    #:schema ./.mlr/ml.toml.schema.json
    # ml.toml: what this environment needs. `mlr lock` pins every moving part
    # into ml.lock; `mlr build` builds the image from the lock alone.
    #
    # Translated from Dockerfile (a Dockerfile) by `mlr init --from`. Each value
    # names the line it comes from; what could not be translated is listed as
    # comments. Review them, then run `mlr lock`.

    [project]
    name = "demo"
    platforms = ["linux/amd64"]

    [base]
    image = "nvidia/cuda:9.0-cudnn7-devel-ubuntu16.04"  # Dockerfile:1

    # [cuda]
    # The base is CUDA 9.0: without [base], `version = "9.0"` with `cudnn = "7"`
    # here would pick an nvidia/cuda image. It is not set, because [base] names
    # the image.

    [python]
    version = "3.6.4"  # Dockerfile:11

    # [framework]
    # torch==1.5.1 stays in [pip] packages: it is PyPI's build (CUDA 10.2), as the
    # Dockerfile installed it. To choose its CUDA build, pin it in [framework]
    # with a [cuda] version.

    [apt]
    packages = [
        "build-essential",  # Dockerfile:3
        "cmake",  # Dockerfile:3
        "git",  # Dockerfile:3
        "curl",  # Dockerfile:3
        "ca-certificates",  # Dockerfile:3
        "libssl-dev",  # Dockerfile:3
        "zlib1g-dev",  # Dockerfile:3
        "libbz2-dev",  # Dockerfile:3
        "libreadline-dev",  # Dockerfile:3
        "libsqlite3-dev",  # Dockerfile:3
    ]

    [pip]
    packages = [
        "torch==1.5.1",  # Dockerfile:14
        "torchvision==0.6.1",  # Dockerfile:14
        "fvcore>=0.1.1",  # Dockerfile:14
    ]

    # Built from git in the Dockerfile: mlr fetches each source on the host at a
    # locked commit and runs its `build` steps in the checkout. Choose a tag or a
    # commit for `rev`, check the steps, and uncomment.

    # [git.detectron2]
    # url = "https://github.com/facebookresearch/detectron2"  # Dockerfile:15
    # rev = "HEAD"
    # build = [
    #     "python setup.py build develop",  # Dockerfile:16
    # ]

    [env]
    PYENV_ROOT = "/root/.pyenv"  # Dockerfile:9
    FORCE_CUDA = "1"  # Dockerfile:17
    TORCH_CUDA_ARCH_LIST = "Pascal;Volta;Turing"  # Dockerfile:17

    [image]
    # The Dockerfile has no USER, so its image runs as root; mlr runs the image as
    # `ml` unless you write `user = "root"`.
    workdir = "/detectron2"  # Dockerfile:18
    cmd = ["python", "tools/train_net.py", "--help"]  # Dockerfile:19

    # Not translated: the lines of Dockerfile below have no ml.toml equivalent
    # yet, or need a decision. Review each.
    # Dockerfile:10: ENV PATH=$PYENV_ROOT/shims:$PYENV_ROOT/bin:$PATH  (`PATH` refers to a variable the base image or the build sets; [env] values are literal)
    "#);
}

#[test]
fn a_miniconda_dockerfile_keeps_pip_and_leaves_conda_as_comments() {
    let p = project(&[
        (
            "Dockerfile",
            r#"FROM continuumio/miniconda3:24.1.2-0
WORKDIR /app
COPY env.yml .
RUN conda env create -f env.yml && conda clean -afy
SHELL ["conda", "run", "-n", "ml", "/bin/bash", "-c"]
RUN pip install --no-cache-dir wandb==0.17.0 "hydra-core>=1.3"
COPY src/ ./src/
EXPOSE 8888
ENTRYPOINT ["conda", "run", "--no-capture-output", "-n", "ml", "python", "src/train.py"]
"#,
        ),
        ("env.yml", "name: ml\n"),
        ("src/train.py", ""),
    ]);
    insta::assert_snapshot!(init_from(&p, &["Dockerfile"]), @"
    exit: 0
    --- stdout
    --- stderr
      Translated Dockerfile (a Dockerfile): base image, 2 pip packages, 2 image settings, 2 copies
         Created ml.toml (project `demo`); 3 lines left as comments to review
    ");
    insta::assert_snapshot!(written(&p), @r#"
    #:schema ./.mlr/ml.toml.schema.json
    # ml.toml: what this environment needs. `mlr lock` pins every moving part
    # into ml.lock; `mlr build` builds the image from the lock alone.
    #
    # Translated from Dockerfile (a Dockerfile) by `mlr init --from`. Each value
    # names the line it comes from; what could not be translated is listed as
    # comments. Review them, then run `mlr lock`.

    [project]
    name = "demo"
    platforms = ["linux/amd64"]

    [base]
    image = "continuumio/miniconda3:24.1.2-0"  # Dockerfile:1

    [pip]
    packages = [
        "wandb==0.17.0",  # Dockerfile:6
        "hydra-core>=1.3",  # Dockerfile:6
    ]

    [image]
    # The Dockerfile has no USER, so its image runs as root; mlr runs the image as
    # `ml` unless you write `user = "root"`.
    workdir = "/app"  # Dockerfile:2
    entrypoint = ["conda", "run", "--no-capture-output", "-n", "ml", "python", "src/train.py"]  # Dockerfile:9
    copy = [
        { src = "env.yml", dst = "/app/env.yml" },  # Dockerfile:3
        { src = "src", dst = "/app/src" },  # Dockerfile:7
    ]

    # Not translated: the lines of Dockerfile below have no ml.toml equivalent
    # yet, or need a decision. Review each.
    # Dockerfile:4: conda env create -f env.yml && conda clean -afy  (conda is not supported yet: issue #15; `mlr init --from env.yml` reads its pip packages)
    # Dockerfile:5: SHELL ["conda", "run", "-n", "ml", "/bin/bash", "-c"]  (mlr runs its own steps with /bin/sh)
    # Dockerfile:8: EXPOSE 8888
    "#);
}

#[test]
fn a_multi_stage_dockerfile_takes_the_final_stage() {
    let p = project(&[(
        "gpu.Dockerfile",
        r#"# syntax=docker/dockerfile:1
ARG PY=3.11
FROM python:${PY} AS builder
RUN pip wheel --wheel-dir /wheels numpy==1.26.4
RUN gcc -O2 -o /out/fast fast.c

FROM python:${PY}-slim
LABEL org.opencontainers.image.source="https://example.com/repo"
COPY --from=builder /wheels /wheels
RUN pip install --no-index --find-links /wheels numpy==1.26.4 && pip install fastapi "uvicorn[standard]"
COPY app.py /srv/
USER 1000
HEALTHCHECK --interval=30s CMD curl -f http://localhost:8000/ || exit 1
CMD uvicorn app:app --host 0.0.0.0
"#,
    )]);
    insta::assert_snapshot!(init_from(&p, &["gpu.Dockerfile"]), @"
    exit: 0
    --- stdout
    --- stderr
      Translated gpu.Dockerfile (a Dockerfile): base image, 3 pip packages, 2 image settings, 1 copy
         Created ml.toml (project `demo`); 7 lines left as comments to review
    ");
    insta::assert_snapshot!(written(&p), @r#"
    #:schema ./.mlr/ml.toml.schema.json
    # ml.toml: what this environment needs. `mlr lock` pins every moving part
    # into ml.lock; `mlr build` builds the image from the lock alone.
    #
    # Translated from gpu.Dockerfile (a Dockerfile) by `mlr init --from`. Each
    # value names the line it comes from; what could not be translated is listed
    # as comments. Review them, then run `mlr lock`.

    [project]
    name = "demo"
    platforms = ["linux/amd64"]

    [base]
    # The final stage's FROM; the other stages are listed at the end.
    image = "python:3.11-slim"  # gpu.Dockerfile:7

    # [python]
    # The base image has Python 3.11; mlr uses it.

    [pip]
    packages = [
        "numpy==1.26.4",  # gpu.Dockerfile:10
        "fastapi",  # gpu.Dockerfile:10
        "uvicorn[standard]",  # gpu.Dockerfile:10
    ]

    [image]
    user = "1000"  # gpu.Dockerfile:12
    cmd = ["/bin/sh", "-c", "uvicorn app:app --host 0.0.0.0"]  # gpu.Dockerfile:14
    copy = [
        { src = "app.py", dst = "/srv/app.py" },  # gpu.Dockerfile:11
    ]

    # Not translated: the lines of gpu.Dockerfile below have no ml.toml equivalent
    # yet, or need a decision. Review each.
    # gpu.Dockerfile:3: FROM python:${PY} AS builder  (build stage `builder`: not part of the final image; its instructions follow)
    # gpu.Dockerfile:4: RUN pip wheel --wheel-dir /wheels numpy==1.26.4
    # gpu.Dockerfile:5: RUN gcc -O2 -o /out/fast fast.c
    # gpu.Dockerfile:8: LABEL org.opencontainers.image.source="https://example.com/repo"
    # gpu.Dockerfile:9: COPY --from=builder /wheels /wheels  (copies from `builder`, which mlr does not build; a source built in a stage of its own is a [git.NAME] with `build` steps)
    # gpu.Dockerfile:10: pip install --no-index --find-links /wheels numpy==1.26.4  (not translated: `--find-links /wheels`)
    # gpu.Dockerfile:13: HEALTHCHECK --interval=30s CMD curl -f http://localhost:8000/ || exit 1
    "#);
}

/// A requirements file with an include, constraints, markers, a PyTorch
/// and another extra index, and what mlr cannot lock yet.
const REQUIREMENTS: &[(&str, &str)] = &[
    (
        "requirements.txt",
        "# Training requirements\n\
         -r requirements/base.txt\n\
         -c constraints.txt\n\
         --extra-index-url https://download.pytorch.org/whl/cu121\n\
         --extra-index-url https://pypi.internal.example/simple\n\
         \n\
         torch==2.5.1+cu121\n\
         torchvision==0.20.1+cu121\n\
         transformers[torch]>=4.40,<5\n\
         pywin32==306 ; sys_platform == \"win32\"\n\
         tomli>=2 ; python_version < \"3.11\"\n\
         git+https://github.com/huggingface/peft.git@v0.11.1#egg=peft\n\
         -e ./vendor/mylib\n",
    ),
    (
        "requirements/base.txt",
        "numpy>=1.24\nscipy==1.13.1 \\\n    --hash=sha256:0123\nrequests\n",
    ),
    ("constraints.txt", "numpy<2\nurllib3<2\n"),
];

#[test]
fn a_requirements_file_with_includes_constraints_markers_and_indexes() {
    let p = project(REQUIREMENTS);
    insta::assert_snapshot!(init_from(&p, &["requirements.txt"]), @"
    exit: 0
    --- stdout
    --- stderr
      Translated requirements.txt (a pip requirements file): CUDA version, 2 frameworks, 7 pip packages
         Created ml.toml (project `demo`); 2 lines left as comments to review
    ");
    insta::assert_snapshot!(written(&p), @r#"
    #:schema ./.mlr/ml.toml.schema.json
    # ml.toml: what this environment needs. `mlr lock` pins every moving part
    # into ml.lock; `mlr build` builds the image from the lock alone.
    #
    # Translated from requirements.txt (a pip requirements file) by `mlr init
    # --from`. Each value names the line it comes from; what could not be
    # translated is listed as comments. Review them, then run `mlr lock`.

    [project]
    name = "demo"
    platforms = ["linux/amd64"]

    [base]
    # requirements.txt names no base image: this is the one `mlr init` writes.
    # Without [base], the [cuda] version picks an nvidia/cuda image.
    image = "debian:bookworm-slim"

    [cuda]
    # torch==2.5.1+cu121 is torch's CUDA 12.1 build; with this version, mlr locks
    # that build.
    version = "12.1"  # requirements.txt:7

    [framework]
    torch = "2.5.1"  # requirements.txt:7
    torchvision = "0.20.1"  # requirements.txt:8

    [pip]
    # requirements.txt:2: -r requirements/base.txt: its requirements are included, each naming requirements/base.txt
    # requirements.txt:3: -c constraints.txt: its constraints narrow the requirements they name
    # constraints.txt:1: constraint numpy<2 applied: `numpy>=1.24,<2`
    # 1 `--hash` option was dropped: ml.lock records the hash of every file it
    # pins.
    packages = [
        "numpy>=1.24,<2",  # requirements/base.txt:1
        "scipy==1.13.1",  # requirements/base.txt:2
        "requests",  # requirements/base.txt:4
        "transformers[torch]>=4.40,<5",  # requirements.txt:9
        'pywin32==306; sys_platform == "win32"',  # requirements.txt:10
        'tomli>=2; python_version < "3.11"',  # requirements.txt:11
        "peft @ git+https://github.com/huggingface/peft.git@v0.11.1",  # requirements.txt:12
    ]

    # pip takes any package from any index; mlr takes each package from one index.
    # Name the packages each index below serves, and uncomment it.
    # [[pip.index]]
    # name = "pypi-internal-example"
    # url = "https://pypi.internal.example/simple"  # requirements.txt:5
    # packages = []

    # Not translated: the lines of requirements.txt below have no ml.toml
    # equivalent yet, or need a decision. Review each.
    # requirements.txt:13: -e ./vendor/mylib  (an editable install: write `NAME @ ./DIR` in [pip] packages; mlr installs it, not editable)
    # constraints.txt:2: urllib3<2  (constrains a package not required directly; ml.lock pins every dependency, so add it to [pip] packages if it must hold)
    "#);
}

#[test]
fn a_pyproject_gives_dependencies_python_and_a_profile_per_group() {
    let p = project(&[(
        "pyproject.toml",
        r#"[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "protein-fold"
version = "0.3.0"
requires-python = ">=3.10,<3.11"
dependencies = [
    "torch==2.4.1",
    "einops>=0.7",
    "biopython",
    "numpy<2; platform_machine == 'x86_64'",
]

[project.optional-dependencies]
dev = ["pytest>=8", "ruff"]
notebook = ["jupyterlab", "matplotlib"]
all = ["protein-fold[dev,notebook]"]

[[tool.uv.index]]
name = "internal"
url = "https://pypi.internal.example/simple"
explicit = true

[tool.uv.sources]
fold-kernels = { index = "internal" }
"#,
    )]);
    insta::assert_snapshot!(init_from(&p, &["pyproject.toml"]), @"
    exit: 0
    --- stdout
    --- stderr
      Translated pyproject.toml (a pyproject.toml): Python version, CUDA version, 1 framework, 3 pip packages, 3 profiles
         Created ml.toml (project `protein-fold`); nothing left untranslated
    ");
    insta::assert_snapshot!(written(&p), @r#"
    #:schema ./.mlr/ml.toml.schema.json
    # ml.toml: what this environment needs. `mlr lock` pins every moving part
    # into ml.lock; `mlr build` builds the image from the lock alone.
    #
    # Translated from pyproject.toml (a pyproject.toml) by `mlr init --from`. Each
    # value names the line it comes from; what could not be translated is listed
    # as comments. Review them, then run `mlr lock`.

    [project]
    name = "protein-fold"  # pyproject.toml:6
    platforms = ["linux/amd64"]

    [base]
    # pyproject.toml names no base image: this is the one `mlr init` writes.
    # Without [base], the [cuda] version picks an nvidia/cuda image.
    image = "debian:bookworm-slim"

    [cuda]
    # torch==2.4.1 from PyPI is torch's CUDA 12.1 build; with this version, mlr
    # locks that build.
    version = "12.1"  # pyproject.toml:10

    [python]
    version = "3.10"  # pyproject.toml:8

    [framework]
    torch = "2.4.1"  # pyproject.toml:10

    [pip]
    # `protein-fold` itself is not installed: these are its dependencies. Copy its
    # source into the image with [image] copy.
    packages = [
        "einops>=0.7",  # pyproject.toml:11
        "biopython",  # pyproject.toml:12
        'numpy<2; platform_machine == "x86_64"',  # pyproject.toml:13
    ]

    # pip takes any package from any index; mlr takes each package from one index.
    # Name the packages each index below serves, and uncomment it.
    # [[pip.index]]
    # name = "internal"
    # url = "https://pypi.internal.example/simple"  # pyproject.toml:23
    # packages = ["fold-kernels"]

    [profile.dev]
    pip = [
        "pytest>=8",  # pyproject.toml:17
        "ruff",  # pyproject.toml:17
    ]

    [profile.notebook]
    pip = [
        "jupyterlab",  # pyproject.toml:18
        "matplotlib",  # pyproject.toml:18
    ]

    [profile.all]
    pip = [
        "pytest>=8",  # pyproject.toml:17
        "ruff",  # pyproject.toml:17
        "jupyterlab",  # pyproject.toml:18
        "matplotlib",  # pyproject.toml:18
    ]
    "#);
}

#[test]
fn an_environment_yml_gives_python_and_its_pip_section() {
    let p = project(&[(
        "environment.yml",
        r#"name: esmfold
channels:
  - conda-forge
  - bioconda
  - pytorch
dependencies:
  - conda-forge::python=3.9
  - conda-forge::setuptools=59.5.0
  - pip
  - pytorch::pytorch=1.12.1
  - pytorch::cudatoolkit==11.3.*
  - bioconda::hmmer==3.3.2
  - pip:
      - biopython==1.79
      - deepspeed==0.5.9
      - "ml-collections==0.1.0"
      - git+https://github.com/NVIDIA/dllogger.git
variables:
  HF_HOME: /data/hf
"#,
    )]);
    insta::assert_snapshot!(init_from(&p, &["environment.yml"]), @"
    exit: 0
    --- stdout
    --- stderr
      Translated environment.yml (a conda environment file): Python version, 3 pip packages, 1 environment variable
         Created ml.toml (project `esmfold`); 6 lines left as comments to review
    ");
    insta::assert_snapshot!(written(&p), @r#"
    #:schema ./.mlr/ml.toml.schema.json
    # ml.toml: what this environment needs. `mlr lock` pins every moving part
    # into ml.lock; `mlr build` builds the image from the lock alone.
    #
    # Translated from environment.yml (a conda environment file) by `mlr init
    # --from`. Each value names the line it comes from; what could not be
    # translated is listed as comments. Review them, then run `mlr lock`.

    [project]
    name = "esmfold"  # environment.yml:1
    platforms = ["linux/amd64"]

    [base]
    # environment.yml names no base image: this is the one `mlr init` writes.
    image = "debian:bookworm-slim"

    [python]
    version = "3.9"  # environment.yml:7

    [pip]
    packages = [
        "biopython==1.79",  # environment.yml:14
        "deepspeed==0.5.9",  # environment.yml:15
        "ml-collections==0.1.0",  # environment.yml:16
    ]

    [env]
    HF_HOME = "/data/hf"  # environment.yml:19

    # Not translated: the lines of environment.yml below have no ml.toml
    # equivalent yet, or need a decision. Review each.
    # environment.yml:2: channels: conda-forge, bioconda, pytorch  (conda is not supported yet: issue #15)
    # environment.yml:8: conda-forge::setuptools=59.5.0  (a conda package; conda is not supported yet: issue #15)
    # environment.yml:10: pytorch::pytorch=1.12.1  (a conda package; conda is not supported yet: issue #15; from pip: [framework] torch = "1.12.1")
    # environment.yml:11: pytorch::cudatoolkit==11.3.*  (conda is not supported yet: issue #15; with torch pinned in [framework], a [cuda] version picks its CUDA build)
    # environment.yml:12: bioconda::hmmer==3.3.2  (a conda package; conda is not supported yet: issue #15)
    # environment.yml:17: git+https://github.com/NVIDIA/dllogger.git  (a git URL without a package name: write `NAME @ git+URL@REV` in [pip] packages)
    "#);
}

#[test]
fn bad_input_is_an_error_with_a_place_and_nothing_is_written() {
    let p = project(&[
        (
            "pyproject.toml",
            "[project]\nname = \"x\"\ndependencies = [\"numpy\"\n",
        ),
        (
            "environment.yml",
            "name: x\ndependencies:\n  - numpy\n   - scipy\n",
        ),
        ("deps", "numpy\n"),
        ("Dockerfile", "# only a comment\n"),
        ("ml.toml.keep", ""),
    ]);
    insta::assert_snapshot!(init_from(&p, &["missing.txt"]), @"
    exit: 2
    --- stdout
    --- stderr
    error: cannot read `missing.txt`
    caused by: No such file or directory (os error 2)
    ");
    insta::assert_snapshot!(init_from(&p, &["pyproject.toml"]), @r#"
    exit: 2
    --- stdout
    --- stderr
    error: pyproject.toml:3:24: invalid TOML: unclosed array, expected `]`
      |
    3 | dependencies = ["numpy"
      |                        ^
    "#);
    insta::assert_snapshot!(init_from(&p, &["environment.yml"]), @"
    exit: 2
    --- stdout
    --- stderr
    error: environment.yml:4:4: unexpected indentation
      |
    4 |    - scipy
      |    ^
    ");
    insta::assert_snapshot!(init_from(&p, &["deps"]), @"
    exit: 2
    --- stdout
    --- stderr
    error: cannot tell what kind of file `deps` is
    hint: pass --from-kind dockerfile, requirements, pyproject or conda
    ");
    insta::assert_snapshot!(init_from(&p, &["Dockerfile"]), @"
    exit: 2
    --- stdout
    --- stderr
    error: Dockerfile: no FROM instruction: there is no image to start from
    ");
    assert!(!p.exists("demo/ml.toml"));
    // --from-kind says what the name does not.
    insta::assert_snapshot!(init_from(&p, &["deps", "--from-kind", "requirements"]), @"
    exit: 0
    --- stdout
    --- stderr
      Translated deps (a pip requirements file): 1 pip package
         Created ml.toml (project `demo`); nothing left untranslated
    ");
    // An existing ml.toml is kept without --force.
    insta::assert_snapshot!(init_from(&p, &["deps"]), @"
    exit: 2
    --- stdout
    --- stderr
    error: `ml.toml` already exists in [ROOT]/demo
    hint: edit it, or pass --force to overwrite it
    ");
    p.mlr()
        .current_dir(p.path("demo"))
        .args([
            "init",
            "--force",
            "--from",
            "deps",
            "--from-kind",
            "requirements",
        ])
        .assert()
        .success();
    p.mlr()
        .args(["init", "--from-kind", "conda"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--from"));
}

/// The ml.toml translated from a requirements file locks as written, once
/// its base is an image the test serves: `-r` and `-c` files, a marker, an
/// index given in the file, and a local path left as a comment.
#[test]
fn a_translated_requirements_file_locks() {
    require!(Service::Registry);
    require!(Service::PyPI);
    let registry = Registry::start();
    push_debian_marker(&registry, "py/base", "12", "linux/amd64");
    let index = PyIndex::start();
    index.add_wheel(&WheelSpec::new("app", "1.0").requires("lib>=1"));
    index.add_wheel(&WheelSpec::new("lib", "1.0"));
    index.add_wheel(&WheelSpec::new("lib", "2.0"));
    index.add_wheel(&WheelSpec::new("tool", "0.5"));
    index.add_wheel(&WheelSpec::new("oldpy", "1.0"));
    let p = project(&[
        (
            "requirements.txt",
            &format!(
                "--index-url {}\n-r base.txt\n-c constraints.txt\napp==1.0\n\
                 oldpy ; python_version >= \"3.8\"\n\
                 ./vendor/private\n",
                index.url()
            ),
        ),
        ("base.txt", "tool>=0.1\nlib\n"),
        ("constraints.txt", "lib<2\n"),
    ]);
    p.mlr()
        .current_dir(p.path("demo"))
        .args(["init", "--from", "requirements.txt"])
        .assert()
        .success()
        .stderr(predicate::str::contains("1 line left as a comment"));
    let manifest = written(&p).replace(
        "image = \"debian:bookworm-slim\"",
        &format!("image = \"{}\"", registry.reference("py/base", "12")),
    );
    p.file("demo/ml.toml", manifest);
    p.mlr()
        .current_dir(p.path("demo"))
        .env("MLR_UV", shared_uv())
        .arg("lock")
        .assert()
        .success();
    let lock = p.read("demo/ml.lock");
    for pin in [
        "name = \"app\"\nversion = \"1.0\"",
        "name = \"lib\"\nversion = \"1.0\"",
        "name = \"tool\"\nversion = \"0.5\"",
        "name = \"oldpy\"\nversion = \"1.0\"",
    ] {
        assert!(lock.contains(pin), "{pin} in:\n{lock}");
    }
    p.mlr()
        .current_dir(p.path("demo"))
        .arg("verify")
        .assert()
        .success();
}
