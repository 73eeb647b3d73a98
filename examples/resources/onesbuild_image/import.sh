# Import an image that is already in the registry by its digest-pinned
# reference. The next apply adopts the configuration (and points its tags
# at the image) without building.
terraform import onesbuild_image.app registry.kube-system.svc.cluster.local:5000/new-image@sha256:2f0a6b1c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a
