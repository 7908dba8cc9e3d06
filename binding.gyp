{
  "targets": [
    {
      "target_name": "mist_vad",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_js_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["<(PRODUCT_DIR)/mist_vad.node"],
          "action": ["node", "scripts/build-native.cjs", "<(PRODUCT_DIR)"]
        }
      ]
    }
  ]
}
